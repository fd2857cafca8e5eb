"""Sex classification trained on real IXI-HH scans beats the trivial baseline on a held-out fold.

Short CPU training through the CLI (6 mm grid, a few epochs); the accuracy benchmark
(``nox -s accuracy``) gives the full figures. Chance on a held-out fold is 0.5 balanced
accuracy and 0.5 ROC-AUC; with 26 held-out subjects an ROC-AUC above 0.75 is far outside
what chance gives (p < 0.01).
"""

from __future__ import annotations

import json

import pytest

from brainmri.core.testing.realdata import train_on_held_out_fold

pytestmark = pytest.mark.slow  # trains on real scans


def test_sex_from_real_full_heads_beats_chance_on_a_held_out_fold(tmp_path):
    run, _, _, result = train_on_held_out_fold("brainmri.classify", "sex", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((run / "config.json").read_text())
    assert config["arch"] == "vt1"  # the default chosen by cross-validation
    assert config["pipeline"]["shape"] == [32, 48, 48]  # planned: 180 x 240 x 240 mm heads at 6 mm
    assert config["pipeline"]["augment"]["scale"] == 0.0  # size is a sex cue: the task's own augmentation
    assert "sex cues" in config["plan"]["reasons"][-1]  # recorded with the grid's reasons
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert test["n"] == 26
    assert test["roc_auc"]["value"] > 0.75
    assert test["balanced_accuracy"]["value"] > 0.65
