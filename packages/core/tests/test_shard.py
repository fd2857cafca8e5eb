"""``--shard I/N``: a batch split across processes gives what one process gives."""

from __future__ import annotations

import csv
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from brainmri.core.batch import shard_name, take_shard
from brainmri.core.io import save_volume
from brainmri.core.synth.phantom import make_phantom
from brainmri.core.testing.corpus import partial_files

CMD = [sys.executable, "-m", "brainmri.core.cli"]


def test_shares_cover_every_item_once_in_order():
    items = [f"s{k}" for k in range(11)]
    for n in (1, 2, 3, 4, 11, 13):
        shares = [take_shard(items, (i, n)) for i in range(1, n + 1)]
        merged = sorted((items.index(x), x) for share in shares for x in share)
        assert [x for _, x in merged] == items  # each item in exactly one share
        for share in shares:
            assert share == sorted(share, key=items.index)
    assert take_shard(items, None) == items
    assert shard_name("skullstrip.csv", (2, 4)) == "skullstrip.shard2of4.csv"
    assert shard_name("regions.csv", None) == "regions.csv"


@pytest.mark.parametrize("value", ["3/2", "0/2", "x", "1/0", "2"])
def test_a_bad_shard_is_a_usage_error_naming_it(tmp_path, value):
    result = subprocess.run([*CMD, "preprocess", str(tmp_path), "-o", str(tmp_path / "out"), "--shard", value],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "--shard" in result.stderr and value in result.stderr
    assert "Traceback" not in result.stderr


def _scans(folder):
    """Four small phantom heads, stored in different orientations."""
    paths = []
    for k, orientation in enumerate(("RAS", "LIA", "PIL", "LPS")):
        ph = make_phantom(k % 2, 30.0 + 12 * k, seed=70 + k, spacing=3.0, orientation=orientation)
        paths.append(save_volume(ph.image, folder / f"head{k}.nii.gz"))
    return paths


def _csv(path, drop=()):
    with open(path, newline="") as fh:
        return {row["file"]: {k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(fh)}


def _same_nifti(a, b):
    ia, ib = nib.load(str(a)), nib.load(str(b))
    assert ia.shape == ib.shape
    np.testing.assert_array_equal(ia.affine, ib.affine)
    np.testing.assert_array_equal(np.asanyarray(ia.dataobj), np.asanyarray(ib.dataobj))


def _run_shards(args, out, n):
    """Run shares 1..n of one command at the same time, into the same folder."""
    procs = [subprocess.Popen([*CMD, *args, "-o", str(out), "--shard", f"{i}/{n}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(1, n + 1)]
    results = [p.communicate(timeout=900) + (p.returncode,) for p in procs]
    for _, err, rc in results:
        assert rc == 0, err[-3000:]
    return results


def test_preprocess_in_three_shares_equals_one_process(tmp_path):
    scans = _scans(tmp_path / "scans")
    args = ["preprocess", str(tmp_path / "scans"), "--spacing", "4", "--shape", "40", "48", "40"]
    single = subprocess.run([*CMD, *args, "-o", str(tmp_path / "single")], capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    _run_shards(args, tmp_path / "sharded", 3)
    for scan in scans:
        name = scan.name.replace(".nii.gz", "_preproc.nii.gz")
        _same_nifti(tmp_path / "single" / name, tmp_path / "sharded" / name)
    assert sorted(p.name for p in (tmp_path / "sharded").iterdir()) == sorted(
        p.name for p in (tmp_path / "single").iterdir())
    assert not partial_files(tmp_path / "sharded")


def test_skullstrip_in_two_shares_equals_one_process_and_resumes_unsharded(tmp_path):
    # Sharding, per-share reports and resume are the batch's, shared by both backends; deepbet
    # (a quarter of HD-BET's CPU time) keeps this 8-extraction test short.
    pytest.importorskip("deepbet", reason="needs brainmri-core[deepbet]")
    scans = _scans(tmp_path / "scans")
    args = ["skullstrip", str(tmp_path / "scans"), "--device", "cpu", "--no-brain", "--backend", "deepbet"]
    single = subprocess.run([*CMD, *args, "-o", str(tmp_path / "single")], capture_output=True, text=True,
                            timeout=900)
    assert single.returncode == 0, single.stderr
    out = tmp_path / "sharded"
    _run_shards(args, out, 2)
    for scan in scans:
        _same_nifti(tmp_path / "single" / scan.name.replace(".nii.gz", "_mask.nii.gz"),
                    out / scan.name.replace(".nii.gz", "_mask.nii.gz"))
    assert not partial_files(out)
    # Each share reported its own scans (heads 0, 2 and 1, 3); together, the one process's report.
    one = _csv(tmp_path / "single" / "skullstrip.csv", drop=("seconds",))
    first = _csv(out / "skullstrip.shard1of2.csv", drop=("seconds",))
    second = _csv(out / "skullstrip.shard2of2.csv", drop=("seconds",))
    assert sorted(first) == [str(scans[0]), str(scans[2])]
    assert sorted(second) == [str(scans[1]), str(scans[3])]
    assert {**first, **second} == one
    # An unsharded rerun over the sharded folder finds every scan done and gathers one report.
    again = subprocess.run([*CMD, *args, "-o", str(out)], capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr
    assert "0 scans done, 4 already done" in again.stderr
    assert _csv(out / "skullstrip.csv", drop=("seconds",)) == one


def test_an_empty_share_is_not_an_error(tmp_path):
    _scans(tmp_path / "scans")
    result = subprocess.run([*CMD, "preprocess", str(tmp_path / "scans" / "head0.nii.gz"), "-o",
                             str(tmp_path / "out"), "--shard", "2/2"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "share 2/2 has no scans" in result.stderr

