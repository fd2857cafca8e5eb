"""The age task in the tasks demo: its figure and bias notes, and the demo end to end (slow)."""

from __future__ import annotations

import json

import pytest

from brainmri.core.tasks import get_task


def test_demo_report_plots_age_and_says_why_a_correction_was_not_applied(tmp_path):
    rows = {"full head": [{"target": a, "pred_age_uncorrected": a + 3} for a in (25.0, 40.0, 61.0)]}
    run = tmp_path / "age_full_head"
    run.mkdir()
    (run / "calibration.json").write_text(json.dumps({"age_bias": {"note": "slope CI includes 0.1"}}))
    lines = get_task("age").demo_report(tmp_path, {"full head": run}, rows)
    assert "- full head: slope CI includes 0.1" in lines
    assert "![predicted vs true age](age_pred_vs_true.png)" in lines
    assert (tmp_path / "age_pred_vs_true.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_tasks_demo_trains_and_reports_the_age_task(tmp_path):
    from brainmri.core.training.demo import demo_tasks

    report = demo_tasks(tmp_path, subjects=12, epochs=1, device="cpu", progress=False)
    text = report.read_text()
    assert "## age (brainmri-regress, --arch vt1)" in text and "age_pred_vs_true.png" in text
    for variant in ("full_head", "brain_only"):
        assert json.loads((tmp_path / f"age_{variant}" / "metrics.json").read_text())["test"]["n"] > 0
