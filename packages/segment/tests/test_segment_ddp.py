"""Segmentation under DistributedDataParallel: ``torchrun --nproc_per_node=2`` (gloo, CPU).

Classification and regression train exactly like one process with the same global batch
(tested in their packages); segmentation cannot (its patch centres are drawn per rank), so it
is checked for what must hold instead.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path

import pytest
import torch

from brainmri.core.testing import load_weights, read_log, synthetic_dataset, train_with_torchrun_and_single_process

pytestmark = pytest.mark.slow


# Run as ``python -m record_patches`` in place of ``-m brainmri.segment``: every call of the
# patch sampler (one per training step) appends its subjects to ``<--out>.rank<RANK>.jsonl``.
_RECORDER = '''
import json, os, sys

from brainmri.segment import sampling
from brainmri.segment.cli import main

_call = sampling.PatchSampler.__call__
_out = sys.argv[sys.argv.index("--out") + 1]


def _recorded(self, samples, *args, **kwargs):
    with open(f"{_out}.rank{os.environ.get('RANK', '0')}.jsonl", "a") as fh:
        fh.write(json.dumps([s.meta["subject_id"] for s in samples]) + "\\n")
    return _call(self, samples, *args, **kwargs)


sampling.PatchSampler.__call__ = _recorded
main()
'''


def _steps(path: Path) -> list[list[str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _files(run: Path) -> list[str]:
    names = sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file())
    return [re.sub(r"^events\.out\.tfevents\..*", "events.out.tfevents", n) for n in names]


def test_segment_trains_under_torchrun_on_disjoint_shards_with_rank_0_writing(tmp_path):
    """Segmentation under torchrun: completes, shards the training scans, writes once.

    Weights cannot equal one process's: each training step draws its patch centres from a
    generator seeded with ``(seed, epoch, step, rank)``, so a scan gets other patches on rank 1
    than in the same place of a single process's batch. What must hold is checked instead.
    """
    root = tmp_path / "harp"
    synthetic_dataset(root, "adni", subjects=8, seed=3)  # 6 train (4 train + 2 val here), 2 test
    (tmp_path / "record_patches.py").write_text(_RECORDER)
    args = ["train", "--dataset", "adni", "--root", str(root), "--spacing", "4", "--patch-size", "32",
            "--inference-roi", "64", "--levels", "2", "--base-filters", "4", "--norm", "batch", "--epochs", "2",
            "--patches-per-scan", "2", "--no-augment", "--tta", "none", "--val", "0.34", "--patience", "0",
            "--val-every", "1",
            "--device", "cpu", "--quiet"]
    pythonpath = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    ddp, single = train_with_torchrun_and_single_process("record_patches", args, tmp_path, nproc=2, batch_size=1,
                                                         env={"PYTHONPATH": pythonpath})

    assert json.loads((ddp / "config.json").read_text())["world_size"] == 2
    split = json.loads((ddp / "split.json").read_text())
    assert split == json.loads((single / "split.json").read_text())
    train = sorted(split["train"])
    assert len(train) == 4 and len(split["val"]) == 2 and len(split["test"]) == 2

    # Each epoch, the two ranks take the same number of steps on disjoint halves of the training scans.
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == ["ddp.rank0.jsonl", "ddp.rank1.jsonl",
                                                                "single.rank0.jsonl"]
    rank0, rank1 = _steps(tmp_path / "ddp.rank0.jsonl"), _steps(tmp_path / "ddp.rank1.jsonl")
    assert len(rank0) == len(rank1) == 2 * 2 and all(len(b) == 1 for b in rank0 + rank1)
    one = _steps(tmp_path / "single.rank0.jsonl")
    assert len(one) == 2 * 2 and all(len(b) == 2 for b in one)
    for epoch in range(2):
        shard0 = [s for b in rank0[2 * epoch:2 * epoch + 2] for s in b]
        shard1 = [s for b in rank1[2 * epoch:2 * epoch + 2] for s in b]
        assert not set(shard0) & set(shard1), (epoch, shard0, shard1)
        assert sorted(shard0 + shard1) == train
        assert sorted(s for b in one[2 * epoch:2 * epoch + 2] for s in b) == train

    # One log row per epoch, finite losses, patch counts summed over both ranks.
    log, log_single = read_log(ddp), read_log(single)
    assert [int(r["epoch"]) for r in log] == [int(r["epoch"]) for r in log_single] == [1, 2]
    assert list(log[0]) == list(log_single[0])
    for row in log:
        assert math.isfinite(float(row["train_loss"])) and math.isfinite(float(row["val_loss"]))
        assert round(float(row["samples_per_s"]) * float(row["seconds"])) == len(train) * 2

    # Checkpoints load safely and hold the same tensors as a single process's.
    for name in ("last", "best"):
        wd, ws = load_weights(ddp, name), load_weights(single, name)
        assert wd.keys() == ws.keys() and not any(k.startswith("module.") for k in wd)
        for key, value in wd.items():
            assert value.shape == ws[key].shape, key
            assert not torch.is_floating_point(value) or bool(torch.isfinite(value).all()), key

    # Rank 0 alone writes: the same files as a single process, one TensorBoard file, no duplicated rows.
    assert _files(ddp) == _files(single)
    assert len(list(ddp.glob("events.out.tfevents.*"))) == 1
    assert set(json.loads((ddp / "metrics.json").read_text())) == {"val", "test"}
    with open(ddp / "predictions.csv", newline="") as fh:
        rows = [(r["split"], r["subject_id"]) for r in csv.DictReader(fh)]
    assert sorted(rows) == sorted([("val", s) for s in split["val"]] + [("test", s) for s in split["test"]])
