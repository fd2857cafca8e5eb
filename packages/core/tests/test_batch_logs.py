"""Batch jobs without a terminal (cluster logs, pipes) get one line per scan, never silence."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

from brainmri.core.testing import blob_volume, write_nifti
from brainmri.core.wording import duration

CMD = [sys.executable, "-m", "brainmri.core.cli", "preprocess"]
GRID = ["--spacing", "4", "--shape", "16", "16", "16", "--device", "cpu"]
LINE = re.compile(r"^preprocess (\d)/3 (\S+): \d+\.\d s$")


@pytest.fixture
def scans(tmp_path):
    paths = []
    for k in range(3):
        vol = blob_volume(seed=k)
        paths.append(write_nifti(tmp_path / "in" / f"head{k}.nii.gz", vol.data, vol.affine))
    return paths


def test_without_a_terminal_each_scan_gets_one_line(scans, tmp_path):
    proc = subprocess.run(
        [*CMD, tmp_path / "in", "-o", tmp_path / "out", *GRID], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    lines = [m.groups() for m in map(LINE.match, proc.stderr.splitlines()) if m]
    assert lines == [(str(k + 1), p.name) for k, p in enumerate(scans)], proc.stderr


def test_on_a_terminal_the_bar_replaces_the_lines(scans, tmp_path):
    main, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [*CMD, tmp_path / "in", "-o", tmp_path / "out", *GRID],
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=300,
        )
        os.close(secondary)
        err = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(main)
    text = err.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "3 scans done" in text
    assert not [line for line in text.splitlines() if LINE.match(line.strip())], text


@pytest.mark.parametrize(("seconds", "expected"), [(8.24, "8.2 s"), (185, "3 min 05 s"), (7620, "2 h 07 min")])
def test_durations_read_like_a_person_writes_them(seconds, expected):
    assert duration(seconds) == expected


def test_a_scan_line_names_a_class_by_its_word_not_its_code():
    from brainmri.core.batchlog import row_figure

    row = {"file": "a.nii.gz", "prob_female": 0.71234, "pred_sex": 1, "pred_sex_label": "female"}
    assert row_figure(None, row) == "prob_female 0.7123, pred_sex female"
