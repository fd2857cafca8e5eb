"""What the commands say: oblique scans named as such, whole summaries in --help, rounded tables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points

import numpy as np
import pytest

from brainmri.core.testing import blob_volume, write_nifti
from brainmri.core.wording import rounded


def _info(*args):
    return subprocess.run(
        [sys.executable, "-m", "brainmri.core.cli", "info", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_info_says_when_an_ras_code_hides_an_oblique_scan(tmp_path):
    vol = blob_volume()
    angle = np.radians(15.0)
    tilt = np.eye(4)
    tilt[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    oblique = write_nifti(tmp_path / "oblique.nii.gz", vol.data, tilt @ vol.affine)
    straight = write_nifti(tmp_path / "straight.nii.gz", vol.data, vol.affine)
    text = _info(oblique).stdout
    assert "RAS (closest axes: oblique, tilted 15 deg)" in text
    assert json.loads(_info("--json", oblique).stdout)["oblique_deg"] == pytest.approx(15.0, abs=0.01)
    assert "oblique" not in _info(straight).stdout


def _scripts():
    return sorted(ep.name for ep in entry_points(group="console_scripts") if ep.name.startswith("brainmri-"))


@pytest.mark.parametrize("script", _scripts())
def test_help_lists_each_command_with_a_whole_summary(script):
    module = "brainmri.core.cli" if script == "brainmri-core" else script.replace("-", ".")
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert out.returncode == 0, out.stderr
    commands = out.stdout.split("Commands:")[1].strip().splitlines()
    assert commands
    for line in commands:
        assert not line.rstrip().endswith("..."), line  # click cut the summary short


def test_synth_help_points_where_the_quirks_are_listed():
    out = subprocess.run(
        [sys.executable, "-m", "brainmri.core.cli", "synth", "--help"], capture_output=True, text=True, timeout=60
    )
    text = re.sub(r"\s+", " ", out.stdout)
    assert "see below" not in text
    assert text.index("Quirks:") < text.index("--quirks")  # the listing comes first: "above" is right
    assert "(listed per layout above)" in text


def test_tables_on_a_terminal_are_rounded_to_four_places():
    row = {
        "file": "a.nii.gz",
        "prob_female": 0.9512384123456789,
        "age": 45.123456,
        "pred": 1,
        "ok": True,
        "p": 1.23456e-06,
    }
    assert rounded(row) == {
        "file": "a.nii.gz",
        "prob_female": 0.9512,
        "age": 45.1235,
        "pred": 1,
        "ok": True,
        "p": 1.23e-06,
    }
    assert abs(rounded(32.51234567) - 40 - rounded(32.51234567 - 40)) < 1e-9  # differences survive
    metrics = {"test": {"auc": {"value": 0.87654321, "ci95": [0.712345678, 0.98765432]}, "n": 14}}
    assert rounded(metrics) == {"test": {"auc": {"value": 0.8765, "ci95": [0.7123, 0.9877]}, "n": 14}}


def test_prediction_table_shows_words_for_codes_rounded_floats_and_blank_cells():
    from brainmri.core.testing.tables import parse_table
    from brainmri.core.wording import table

    rows = [
        {"file": "a.nii.gz", "prob_female": 0.71234567, "pred_sex": 1, "pred_sex_label": "female", "gap": None},
        {"file": "bb.nii.gz", "prob_female": 0.0401, "pred_sex": 0, "pred_sex_label": "male", "gap": -3.14159},
    ]
    text = table(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["file", "prob_female", "pred_sex", "gap"]  # the word under the code's header
    assert len(lines) == 3 and "{" not in text and "label" not in text
    assert parse_table(text) == [
        {"file": "a.nii.gz", "prob_female": "0.712", "pred_sex": "female", "gap": ""},
        {"file": "bb.nii.gz", "prob_female": "0.040", "pred_sex": "male", "gap": "-3.142"},
    ]
