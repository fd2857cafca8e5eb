"""Training in a batch job: one ``epoch N/M`` line per epoch with its time and the ETA, and
dataset warnings as one clean line (no ``file.py:52: UserWarning`` and source echo)."""

from __future__ import annotations

import re
import subprocess
import sys

from brainmri.core.testing import synthetic_dataset

EPOCH = re.compile(r"^epoch (\d+)/3: .*train_loss=\S+.*\((\d+\.\d s), ETA ([^)]+)\)$")


def test_epoch_lines_and_warnings_read_well_in_a_log(tmp_path):
    root = tmp_path / "ixi"
    synthetic_dataset(root, "ixi", subjects=8, seed=2)  # with the published sheet's quirks: a warning
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "brainmri.classify",
            "train",
            "--dataset",
            "ixi",
            "--root",
            str(root),
            "--out",
            str(tmp_path / "run"),
            "--arch",
            "vt1",
            "--spacing",
            "8",
            "--shape",
            "24",
            "--epochs",
            "3",
            "--no-augment",
            "--patience",
            "0",
            "--val",
            "0.25",
            "--test",
            "0",
            "--device",
            "cpu",
            "--seed",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [m.groups() for m in map(EPOCH.match, proc.stderr.splitlines()) if m]
    assert [n for n, _, _ in lines] == ["1", "2", "3"], proc.stderr[-3000:]
    assert lines[-1][2] == "0.0 s"  # nothing left after the last epoch
    assert lines[0][2] != "0.0 s"
    warned = [line for line in proc.stderr.splitlines() if "skipped" in line and "usable" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: IXI "), proc.stderr[-3000:]
    assert "UserWarning" not in proc.stderr and ".py:" not in proc.stderr
