"""The sex task's part of the tasks demo: a ROC figure linked from report.md."""

from __future__ import annotations

from brainmri.core.tasks import get_task


def test_demo_report_draws_the_roc_of_each_variant(tmp_path):
    rows = {
        "full head": [{"target": t, "prob_female": p} for t, p in ((0, 0.2), (1, 0.7), (0, 0.6), (1, 0.9))],
        "brain only": [{"target": t, "prob_female": p} for t, p in ((0, 0.1), (1, 0.8), (0, 0.3), (1, 0.4))],
    }
    lines = get_task("sex").demo_report(tmp_path, {}, rows)
    assert "![ROC](roc_sex.png)" in lines
    assert (tmp_path / "roc_sex.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert get_task("sex").demo == ("vt1", {}, 4)
