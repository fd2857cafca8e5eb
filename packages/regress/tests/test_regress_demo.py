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
    import shutil

    from brainmri.core.testing import real_scan, require_shared
    from brainmri.core.training.demo import demo_tasks

    scan = real_scan("chris_pd.nii.gz")
    given = tmp_path / "masks" / "chris_pd_mask.nii.gz"  # as the demo's skull-strip step names it
    given.parent.mkdir()
    shutil.copyfile(require_shared("data", "real", "reference", "chris_pd_hdbet_fast_mask.nii.gz"), given)
    report = demo_tasks(
        tmp_path / "demo", scan=scan, scan_mask=given, subjects=12, epochs=1, device="cpu", progress=False
    )
    text = report.read_text()
    assert "## age (brainmri-regress, --arch vt1)" in text and "age_pred_vs_true.png" in text
    for variant in ("full_head", "brain_only"):
        assert json.loads((tmp_path / "demo" / f"age_{variant}" / "metrics.json").read_text())["test"]["n"] > 0
    # The user's scan: the brain-only model uses the skull-strip step's mask (HD-BET runs once per demo).
    lines = [ln for ln in text.splitlines() if ln.startswith("- brain only on chris_pd.nii.gz: pred_age ")]
    assert len(lines) == 1 and lines[0].endswith("(brain: mask)"), text
