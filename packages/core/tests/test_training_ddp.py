"""DistributedDataParallel: ``torchrun --nproc_per_node=2`` (gloo, CPU) equals one process."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import pytest
import torch

from brainmri.core.training.synthdata import write_phantom_table


def _log(run) -> list[dict]:
    with open(run / "log.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_torchrun_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    if torchrun is None:
        pytest.skip("torchrun is not installed beside this Python")
    table = write_phantom_table(tmp_path / "data", n=12, seed=7, spacing=6.0, orientation=None)
    common = ["train", "--dataset", "table", "--root", str(table), "--arch", "resnet3d", "--spacing", "6",
              "--shape", "32", "--epochs", "2", "--no-augment", "--dropout", "0", "--device", "cpu", "--quiet",
              "--patience", "0", "--val", "0.17", "--test", "0.17"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", "-m", "brainmri.classify", *common,
                          "--batch-size", "2", "--out", str(tmp_path / "ddp")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = subprocess.run([sys.executable, "-m", "brainmri.classify", *common, "--batch-size", "4",
                             "--out", str(tmp_path / "single")], env=env, capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]

    import json

    assert json.loads((tmp_path / "ddp" / "config.json").read_text())["world_size"] == 2
    split = json.loads((tmp_path / "ddp" / "split.json").read_text())
    assert len(split["train"]) == 8  # 2 steps of a global batch of 4 per epoch, no padding
    wd = torch.load(tmp_path / "ddp" / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["model"]
    ws = torch.load(tmp_path / "single" / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["model"]
    for key in ws:
        close = torch.isclose(wd[key], ws[key], atol=1e-5, rtol=0)
        assert close.float().mean() >= 0.999, (key, (wd[key] - ws[key]).abs().max())
    # Metrics are computed on every rank's predictions gathered together: the same validation loss.
    for a, b in zip(_log(tmp_path / "ddp"), _log(tmp_path / "single")):
        assert float(a["train_loss"]) == pytest.approx(float(b["train_loss"]), rel=1e-4)
        assert float(a["val_loss"]) == pytest.approx(float(b["val_loss"]), rel=1e-4)
