"""A network that only sees one blob: every method's mass lands on that blob, in native space.

The scan is stored RAS and LIA; the map written beside each must sit on the blob's world
position (checked with nibabel's affine of the written file) and must be the same map.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from explain_fixtures import BLOB, DECOY, GATE_HALF, GRID_SPACING, grid_affine_by_hand

from brainmri.core.io import load_volume, save_volume
from brainmri.core.orientation import reorient
from brainmri.explain.native import save_native_map
from brainmri.explain.workflow import explain_volume

#: Grid voxels by which Grad-CAM may spill past the gate: conv (1) + pooled conv (2 x 2) and
#: the trilinear upsampling of the half-resolution map (1).
MARGIN = 6


def _world_coords(img) -> np.ndarray:
    ijk = np.stack(np.meshgrid(*[np.arange(s) for s in img.shape], indexing="ij"), -1).reshape(-1, 3)
    return (ijk @ img.affine[:3, :3].T + img.affine[:3, 3]).reshape(*img.shape, 3)


def _in_box(world: np.ndarray, centre: np.ndarray, half_mm: float) -> np.ndarray:
    return (np.abs(world - centre) <= half_mm).all(-1)


@pytest.fixture(scope="module")
def stored(scan, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scans")
    ras = save_volume(scan, folder / "ras.nii.gz")
    lia = save_volume(reorient(scan, "LIA"), folder / "lia.nii.gz")
    return {"RAS": ras, "LIA": lia}


def test_pipeline_grid_is_the_hand_computed_one(scan, pipeline):
    batch = pipeline.preprocess(scan)
    assert np.allclose(batch.affine[0], grid_affine_by_hand(scan), atol=1e-6)


@pytest.mark.parametrize("method", ["gradcam", "guided-gradcam", "integrated-gradients"])
def test_map_lands_on_the_seen_blob_in_native_space_for_ras_and_lia(method, stored, gated, pipeline,
                                                                     tmp_path):
    maps = {}
    for orientation, path in stored.items():
        volume = load_volume(path)
        assert volume.orientation == orientation
        expl = explain_volume(gated, pipeline, volume, target=1, method=method, steps=16)
        assert expl.attribution.layer == (None if method == "integrated-gradients" else "block")
        out = save_native_map(expl.native_map, tmp_path / f"{orientation}.nii.gz", like=volume)

        img, src = nib.load(str(out)), nib.load(str(path))
        assert img.shape == src.shape and np.allclose(img.affine, src.affine)
        assert img.get_data_dtype() == np.float32
        data = np.asarray(img.dataobj, dtype=np.float64)
        world = _world_coords(img)
        positive = np.clip(data, 0, None)
        assert positive.sum() > 0
        # The mass concentrates in the gated box (plus the receptive-field margin)...
        near = _in_box(world, BLOB, (GATE_HALF + MARGIN) * GRID_SPACING)
        assert positive[near].sum() / positive.sum() > 0.95
        # ...none of it on the identical decoy blob the network cannot see...
        assert positive[_in_box(world, DECOY, 12.0)].sum() / positive.sum() < 1e-3
        # ...and the peak is on the seen blob.
        peak = world[np.unravel_index(np.argmax(data), data.shape)]
        assert np.abs(peak - BLOB).max() <= (GATE_HALF + 1) * GRID_SPACING
        # the reported peak too (for Grad-CAM: the centre of the block of its largest layer voxel)
        assert np.abs(expl.peak_world - BLOB).max() <= (GATE_HALF + 1) * GRID_SPACING
        maps[orientation] = img
    # Same map whatever the storage order: LIA brought back to RAS by nibabel equals RAS.
    ras = np.asarray(nib.as_closest_canonical(maps["RAS"]).dataobj)
    lia = np.asarray(nib.as_closest_canonical(maps["LIA"]).dataobj)
    np.testing.assert_allclose(lia, ras, rtol=1e-4, atol=1e-6 * np.abs(ras).max())


def test_gradcam_region_fractions_with_a_mask_around_the_blob(scan, gated, pipeline):
    # A "brain mask" over the seen blob: nearly all positive attribution is inside it.
    world = _world_coords(nib.Nifti1Image(scan.data, scan.affine))
    mask = scan.with_data(_in_box(world, BLOB, (GATE_HALF + MARGIN) * GRID_SPACING).astype(np.uint8))
    expl = explain_volume(gated, pipeline, scan, mask, target=1)
    f = expl.fractions
    assert f["inside_fraction"] > 0.95 and f["inside_fraction"] + f["outside_fraction"] == pytest.approx(1.0)
    assert f["brain_voxel_fraction"] < 0.5  # a uniform map would give much less inside
