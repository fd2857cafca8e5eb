"""Mask QC: plausible masks pass; broken masks and already-stripped input are flagged (no network)."""

from __future__ import annotations

import numpy as np
import pytest

from brainmri.core import Volume, load_volume
from brainmri.core.hdbet import QCReport, check_mask
from brainmri.core.testing import real_scan, require_shared


@pytest.fixture(scope="module")
def pd_scan():
    """chris_pd (oblique, 0.86 x 0.86 x 2.4 mm) and its HD-BET reference mask (original code)."""
    vol = load_volume(real_scan("chris_pd.nii.gz"))
    ref = load_volume(require_shared("data", "real", "reference", "chris_pd_hdbet_fast_mask.nii.gz"),
                      check_values=False).data > 0
    return vol, ref


def _world_x(mask, affine):
    idx = np.argwhere(mask)
    return idx, idx @ affine[0, :3] + affine[0, 3]


def test_reference_mask_is_plausible(pd_scan):
    vol, ref = pd_scan
    qc = check_mask(vol, ref)
    assert qc.ok, qc.flags
    # Volume from the voxel count and the affine's determinant, computed here independently.
    expected = ref.sum() * abs(np.linalg.det(vol.affine[:3, :3])) / 1000
    assert qc.brain_cm3 == pytest.approx(expected, abs=0.1)
    assert 1400 < qc.brain_cm3 < 1700 and qc.components == 1 and qc.largest_fraction == 1.0
    assert qc.lr_asymmetry < 0.05 and not qc.already_stripped


def test_half_brain_is_flagged(pd_scan):
    """What HD-BET returned on a brain-only template: one hemisphere."""
    vol, ref = pd_scan
    idx, x = _world_x(ref, vol.affine)
    half = ref.copy()
    half[tuple(idx[x < np.median(x)].T)] = False
    qc = check_mask(vol, half)
    assert "asymmetry" in qc.flags and "volume" in qc.flags and qc.lr_asymmetry > 0.9
    assert not qc.ok and any("asymmetry" in m for m in qc.messages())


def test_fragmented_small_and_empty_masks_are_flagged(pd_scan):
    vol, ref = pd_scan
    idx, _ = _world_x(ref, vol.affine)
    # Keep every other slab of 3 voxels along the first axis: many pieces, none dominant.
    cut = ref.copy()
    cut[tuple(idx[(idx[:, 0] // 3) % 2 == 0].T)] = False
    qc = check_mask(vol, cut)
    assert "fragmented" in qc.flags and qc.components > 5 and qc.largest_fraction < 0.5
    small = np.zeros_like(ref)
    centre = np.round(idx.mean(axis=0)).astype(int)
    small[tuple(slice(c - 10, c + 10) for c in centre)] = True
    qc = check_mask(vol, small)
    assert "volume" in qc.flags and qc.brain_cm3 < 900
    assert check_mask(vol, np.zeros_like(ref)).flags[0] == "empty"


def test_brain_cut_by_the_field_of_view_is_flagged(pd_scan):
    vol, ref = pd_scan
    # Crop the scan so that its edge passes through the middle of the brain.
    idx = np.argwhere(ref)
    mid = int(np.median(idx[:, 0]))
    cropped = Volume(vol.data[mid:], vol.affine @ _shift(mid), vol.path)
    qc = check_mask(cropped, ref[mid:])
    assert "border" in qc.flags and qc.border_fraction > 0.05


def _shift(i):
    m = np.eye(4)
    m[0, 3] = i
    return m


@pytest.mark.parametrize("name", ["chris_pd", "chris_t1"])
def test_already_stripped_input_is_detected(name):
    vol = load_volume(real_scan(f"{name}.nii.gz"))
    ref = load_volume(require_shared("data", "real", "reference", f"{name}_hdbet_fast_mask.nii.gz"),
                      check_values=False).data > 0
    assert not check_mask(vol, ref).already_stripped
    # A brain-only scan as other tools write it: everything outside a (slightly larger) mask is 0.
    from scipy.ndimage import binary_dilation

    bigger = binary_dilation(ref, iterations=2)
    stripped = vol.with_data(np.where(bigger, vol.data, 0).astype(vol.data.dtype))
    qc = check_mask(stripped, ref)
    assert qc.already_stripped and "already_stripped" in qc.flags
    # Still detected when the mask itself is wrong (HD-BET often fails on brain-only input).
    idx = np.argwhere(ref)
    half = ref.copy()
    half[tuple(idx[idx[:, 0] < np.median(idx[:, 0])].T)] = False
    assert check_mask(stripped, half).already_stripped


def test_report_row_has_the_csv_columns():
    qc = QCReport(1500.0, 2, 0.99, 0.01, 0.0, False, ("border", "volume"))
    row = qc.as_row()
    assert row["flags"] == "border;volume" and row["brain_cm3"] == 1500.0
    assert len(qc.messages()) == 2 and not qc.ok
