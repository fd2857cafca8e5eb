"""Training in a batch job: one ``epoch N/M`` line per epoch with its time and the ETA."""

from __future__ import annotations

import re
import subprocess
import sys

EPOCH = re.compile(r"^epoch (\d+)/3: .*train_loss=\S+.*\((\d+\.\d s), ETA ([^)]+)\)$")


def test_epoch_lines_count_up_to_the_total_with_time_and_eta(tmp_path):
    from brainmri.core.training.synthdata import write_phantom_table

    table = write_phantom_table(tmp_path / "data", n=8, seed=2, spacing=6.0, orientation=None)
    proc = subprocess.run([sys.executable, "-m", "brainmri.classify", "train", "--dataset", "table", "--root",
                           str(table), "--out", str(tmp_path / "run"), "--arch", "vt1", "--spacing", "6", "--shape",
                           "32", "--epochs", "3", "--no-augment", "--patience", "0", "--val", "0.25", "--test", "0",
                           "--device", "cpu", "--seed", "0"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [m.groups() for m in map(EPOCH.match, proc.stderr.splitlines()) if m]
    assert [n for n, _, _ in lines] == ["1", "2", "3"], proc.stderr[-3000:]
    assert lines[-1][2] == "0.0 s"  # nothing left after the last epoch
    assert lines[0][2] != "0.0 s"
