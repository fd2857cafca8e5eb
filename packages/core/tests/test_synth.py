"""Synthetic phantoms: exact world-space anatomy, left/right, sex/age effects, determinism, CLI."""

from __future__ import annotations

import hashlib
import json

import nibabel as nib
import numpy as np
import pytest
from click.testing import CliRunner

from brainmri.core.cli import main
from brainmri.core.synth import ORIENTATIONS, grid_affine, make_phantom


def _centroid_world(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    # independent of brainmri.core.geometry: nibabel's apply_affine on voxel indices
    return nib.affines.apply_affine(affine, np.argwhere(mask)).mean(axis=0)


def test_orientations_are_all_48_distinct_codes():
    assert len(set(ORIENTATIONS)) == 48
    for code in ORIENTATIONS:
        _, affine = grid_affine(code, 2.0, (20, 30, 40))
        assert "".join(nib.aff2axcodes(affine)) == code


@pytest.mark.parametrize("orientation", ["LIA", "PIL", "ASR", "LPS"])
def test_anatomy_is_exact_in_world_space_whatever_the_storage_order(orientation):
    ref = make_phantom(1, 50, seed=7, spacing=2.2, orientation="RAS", noise=False)
    other = make_phantom(1, 50, seed=7, spacing=2.2, orientation=orientation, noise=False)
    assert "".join(nib.aff2axcodes(other.image.affine)) == orientation
    # nibabel's own reorientation of the stored array, back to RAS
    ornt = nib.orientations.ornt_transform(
        nib.orientations.io_orientation(other.image.affine), nib.orientations.axcodes2ornt("RAS")
    )
    labels = nib.orientations.apply_orientation(other.hippocampus.data, ornt)
    brain = nib.orientations.apply_orientation(other.brain_mask.data, ornt)
    image = nib.orientations.apply_orientation(other.image.data, ornt)
    back = other.image.affine @ nib.orientations.inv_ornt_aff(ornt, other.image.shape)
    np.testing.assert_allclose(back, ref.image.affine, atol=1e-9)
    np.testing.assert_array_equal(labels, ref.hippocampus.data)
    np.testing.assert_array_equal(brain, ref.brain_mask.data)
    # intensities agree to rounding (float32 sums in another order)
    assert np.abs(image.astype(np.int32) - ref.image.data).max() <= 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_left_hippocampus_is_at_negative_world_x(seed):
    p = make_phantom(seed % 2, 30 + 10 * seed, seed=seed)  # random orientation and spacing
    h = p.hippocampus
    assert set(np.unique(h.data)) == {0, 1, 2}
    left, right = _centroid_world(h.data == 1, h.affine), _centroid_world(h.data == 2, h.affine)
    assert left[0] < -10 and right[0] > 10
    # all share one grid and the hippocampi lie inside the brain mask
    assert p.image.shape == p.brain_mask.shape == h.shape
    assert np.array_equal(p.image.affine, h.affine)
    assert p.brain_mask.data[h.data > 0].mean() > 0.99


def test_phantom_is_deterministic_per_seed_and_varies_with_it():
    a = make_phantom(0, 40, seed=11)
    b = make_phantom(0, 40, seed=11)
    c = make_phantom(0, 40, seed=12)
    assert np.array_equal(a.image.data, b.image.data) and np.array_equal(a.image.affine, b.image.affine)
    assert a.image.data.dtype == np.int16 and a.hippocampus.data.dtype == np.uint8
    assert a.image.shape != c.image.shape or not np.array_equal(a.image.data, c.image.data)
    assert a.image.data.size <= 1.3e6  # kept small for speed


def _volumes(sex, age, seeds):
    out = []
    for s in seeds:
        p = make_phantom(sex, age, seed=s, spacing=2.5, orientation="RAS")
        voxel = float(np.prod(p.image.spacing))
        img, brain = p.image.data.astype(float), p.brain_mask.data > 0
        # head: everything clearly above the air background (Otsu-free: half the brain median)
        head = img > 0.3 * np.median(img[brain])
        out.append(
            {
                "head": head.sum() * voxel,
                "brain": brain.sum() * voxel,
                "hippocampus": (p.hippocampus.data > 0).sum() * voxel,
                "dark_in_brain": (img[brain] < 0.45 * np.median(img[brain])).sum() * voxel,
            }
        )
    return {k: np.array([o[k] for o in out]) for k in out[0]}


def test_sex_and_age_change_the_anatomy():
    seeds = range(100, 106)
    male, female = _volumes(0, 50, seeds), _volumes(1, 50, seeds)
    assert male["head"].mean() > 1.1 * female["head"].mean()
    young, old = _volumes(1, 25, seeds), _volumes(1, 80, seeds)
    # ventricles (dark CSF inside the brain) grow, hippocampi and brain shrink with age
    assert old["dark_in_brain"].mean() > 2.0 * young["dark_in_brain"].mean()
    assert old["hippocampus"].mean() < 0.8 * young["hippocampus"].mean()
    assert old["brain"].mean() < young["brain"].mean()


def _digest(folder):
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(folder)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def test_synth_cli_writes_layout_deterministically(tmp_path):
    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(main, ["synth", "msd", str(tmp_path / name), "--subjects", "3", "--seed", "4"])
        assert result.exit_code == 0, result.output
    assert "wrote synthetic msd" in result.output
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    spec = json.loads((tmp_path / "a" / "dataset.json").read_text())
    assert spec["numTraining"] == 3 and len(spec["training"]) == 3
    result = runner.invoke(main, ["synth", "msd", str(tmp_path / "a"), "--subjects", "3"])
    assert result.exit_code == 1 and "not empty" in result.output


def test_synth_help_says_what_it_writes():
    result = CliRunner().invoke(main, ["synth", "--help"])
    assert result.exit_code == 0
    for text in ("IXI.xls", "Labels_100_NIFTI", "dataset.json", "synth_manifest.json"):
        assert text in result.output
