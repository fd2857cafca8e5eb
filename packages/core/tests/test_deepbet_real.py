"""deepbet backend on the real scans: native grid and header on RAS, LIA and anisotropic scans;
agreement with the original HD-BET's masks; QC, resume and the report through ``skullstrip``."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from brainmri.core import load_volume
from brainmri.core.orientation import reorient
from brainmri.core.testing import real_scan
from brainmri.core.testing.brainmasks import dice, hdbet_reference, skullstrip_inputs

pytest.importorskip("torch")
if not any(d.metadata["Name"] == "deepbet" for d in __import__("importlib.metadata").metadata.distributions()):
    pytest.skip("needs brainmri-core[deepbet]", allow_module_level=True)

SCANS = {"chris_t1": "RAS", "t1_lia": "LIA", "chris_pd": "RAS"}  # chris_pd: 0.86 x 0.86 x 2.4 mm


@pytest.fixture(scope="module")
def results():
    from brainmri.core.deepbet import DeepBetExtractor

    extractor = DeepBetExtractor(device="cpu")  # both networks loaded once for the three scans
    out = {}
    for name in SCANS:
        vol = load_volume(real_scan(f"{name}.nii.gz"))
        out[name] = (vol, extractor.extract(vol))
    return out


@pytest.mark.parametrize("name", list(SCANS))
def test_mask_on_the_native_grid_with_the_header_kept(results, name):
    vol, result = results[name]
    assert vol.orientation == SCANS[name]
    mask = result.mask
    assert mask.shape == vol.shape and np.array_equal(mask.affine, vol.affine) and mask.header is vol.header
    assert mask.data.dtype == np.uint8 and set(np.unique(mask.data)) == {0, 1}
    assert result.backend == "deepbet" and result.seconds > 0


@pytest.mark.parametrize("name", list(SCANS))
def test_agrees_with_the_original_hd_bet(results, name):
    vol, result = results[name]
    assert dice(result.mask.data, hdbet_reference(name)) >= 0.97
    assert result.qc.ok, result.qc.flags
    assert 1200 <= result.qc.brain_cm3 <= 1800


def test_missing_deepbet_is_one_line(monkeypatch):
    from importlib import metadata

    from brainmri.core.deepbet.weights import MissingDeepBetError, model_path

    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", absent)
    with pytest.raises(MissingDeepBetError, match=r"brainmri-core\[deepbet\]"):
        model_path("model")


CMD = [sys.executable, "-m", "brainmri.core.cli", "skullstrip", "--backend", "deepbet", "--device", "cpu"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """chris_pd, the same head stored LIA and a brain-only copy through ``skullstrip --backend deepbet``, twice."""
    root = tmp_path_factory.mktemp("deepbet")
    scans, out = skullstrip_inputs(root / "scans"), root / "out"
    first = subprocess.run([*CMD, str(scans), "-o", str(out)], capture_output=True, text=True)
    second = subprocess.run([*CMD, str(scans), "-o", str(out)], capture_output=True, text=True)
    return scans, out, first, second


def test_batch_writes_native_outputs_and_a_report(batch):
    scans, out, first, _ = batch
    assert first.returncode == 0, first.stderr
    assert not [p.name for p in out.iterdir() if ".part" in p.name]
    with open(out / "skullstrip.csv", newline="") as fh:
        rows = {os.path.basename(r["file"]): r for r in csv.DictReader(fh)}
    assert sorted(rows) == ["a_ras.nii.gz", "b_lia.nii.gz", "c_stripped.nii.gz"]
    for scan in sorted(scans.iterdir()):
        stem = scan.name.removesuffix(".nii.gz")
        src = nib.load(str(scan))
        for suffix in ("mask", "brain"):
            img = nib.load(str(out / f"{stem}_{suffix}.nii.gz"))
            assert img.shape == src.shape
            np.testing.assert_allclose(img.affine, src.affine, atol=1e-5)
        assert rows[scan.name]["backend"] == "deepbet" and rows[scan.name]["tta"] == "False"
    # QC as for HD-BET: the full head passes, the brain-only input is flagged and warned about.
    assert rows["a_ras.nii.gz"]["flags"] == ""
    assert "already_stripped" in rows["c_stripped.nii.gz"]["flags"].split(";")
    assert any(
        "c_stripped" in line and "already skull-stripped" in line
        for line in first.stderr.splitlines()
        if line.startswith("warning:")
    )


def test_rerun_resumes_without_recomputing(batch):
    _, out, _, second = batch
    assert second.returncode == 0, second.stderr
    assert "0 scans done, 3 already done" in second.stderr


def test_hd_bet_options_are_refused_with_deepbet(tmp_path):
    run = subprocess.run(
        [*CMD, str(real_scan("chris_pd.nii.gz")), "-o", str(tmp_path), "--mode", "accurate"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "deepbet has none of them" in run.stderr


def test_same_head_stored_ras_and_lia_gives_the_same_mask(batch):
    _, out, first, _ = batch
    assert first.returncode == 0, first.stderr
    ras = load_volume(out / "a_ras_mask.nii.gz", check_values=False)
    lia = load_volume(out / "b_lia_mask.nii.gz", check_values=False)
    assert lia.orientation == "LIA"
    back = reorient(lia, "RAS")  # exact: permutation and flips only
    np.testing.assert_allclose(back.affine, ras.affine, atol=1e-5)
    assert dice(ras.data, back.data) >= 0.999
