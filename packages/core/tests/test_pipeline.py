"""The fused pipeline on real scans: orientation invariance, exact affines, label round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F

from brainmri.core import Volume, load_volume
from brainmri.core.geometry import rotation_matrix
from brainmri.core.orientation import reorient
from brainmri.core.pipeline import AugmentConfig, Pipeline, PipelineConfig, Sample
from brainmri.core.testing import real_scan


@pytest.fixture(scope="module")
def t1() -> Volume:
    return load_volume(real_scan("chris_t1.nii.gz"))


def _oblique_copy(vol: Volume, degrees=(12.0, -8.0, 20.0)) -> Volume:
    """The same head resampled (scipy, cubic) onto an oblique grid with the same centre and spacing."""
    rot = np.eye(4)
    rot[:3, :3] = rotation_matrix(degrees)
    centre = vol.center_world
    to_centre = np.eye(4)
    to_centre[:3, 3] = centre
    # A larger grid (same centre) so the rotated copy loses none of the head at its corners.
    shape = tuple(int(s * 1.4) for s in vol.shape)
    grow = np.eye(4)
    grow[:3, 3] = -(np.array(shape) - np.array(vol.shape)) / 2.0
    affine = to_centre @ rot @ np.linalg.inv(to_centre) @ vol.affine @ grow
    m = np.linalg.inv(vol.affine) @ affine
    data = ndi.affine_transform(vol.data.astype(np.float32), m[:3, :3], m[:3, 3], output_shape=shape, order=3,
                                mode="constant")
    return Volume(data, affine)


def test_same_head_in_any_storage_order_gives_the_same_tensor(t1):
    pipe = Pipeline(PipelineConfig.preset("default"))
    ref = pipe.preprocess(t1)
    for code in ("LAS", "PIL", "LIA"):
        other = reorient(t1, code)
        assert other.orientation == code
        out = pipe.preprocess(other)
        np.testing.assert_allclose(out.affine, ref.affine, atol=1e-9)
        # Identical up to float32 rounding of sampling coordinates (z-score units).
        diff = (out.image - ref.image).abs().max().item()
        assert diff < 1e-3, (code, diff)


def test_oblique_storage_gives_the_same_tensor_up_to_one_interpolation(t1):
    pipe = Pipeline(PipelineConfig.preset("default", clip_percentiles=None))
    ref = pipe.preprocess(t1)
    oblique = _oblique_copy(t1)
    assert not np.allclose(np.abs(oblique.affine[:3, :3]) > 1e-3, np.abs(t1.affine[:3, :3]) > 1e-3)
    out = pipe.preprocess(oblique)
    np.testing.assert_allclose(out.affine, ref.affine, atol=1e-6)
    a, b = ref.image.flatten().numpy(), out.image.flatten().numpy()
    assert np.corrcoef(a, b)[0, 1] > 0.995
    assert np.median(np.abs(a - b)) < 0.02


def test_output_voxels_lie_where_the_affine_says(t1):
    """Sample the scan independently (scipy) at affine @ voxel for every output voxel."""
    cfg = PipelineConfig.preset("default", spacing=(1.7, 2.1, 1.9), shape=(90, 100, 96), clip_percentiles=None,
                                zscore_region="nonzero")
    for vol in (t1, reorient(t1, "PIL")):
        out = Pipeline(cfg).preprocess(vol)
        affine = out.affine[0]
        assert np.allclose(affine[:3, :3], np.diag(cfg.spacing))  # world-aligned, RAS voxel order
        idx = np.indices(cfg.shape).reshape(3, -1)
        world = affine[:3, :3] @ idx + affine[:3, 3:4]
        src = np.linalg.inv(vol.affine) @ np.vstack([world, np.ones(world.shape[1])])
        ref = ndi.map_coordinates(vol.data.astype(np.float64), src[:3], order=1, mode="grid-constant")
        ref = ref.reshape(cfg.shape)
        fg = ref > 0
        ref = (ref - ref[fg].mean()) / ref[fg].std()
        np.testing.assert_allclose(out.image[0, 0].numpy(), ref, atol=2e-4)


def _hippocampus_like_labels(vol: Volume) -> np.ndarray:
    """Ellipsoids in world space: label 1 at x < 0 (left), 2 at x > 0 (right)."""
    idx = np.indices(vol.shape).reshape(3, -1)
    world = vol.affine[:3, :3] @ idx + vol.affine[:3, 3:4]
    c = vol.center_world
    labels = np.zeros(idx.shape[1], np.uint8)
    for label, dx in ((1, -25.0), (2, 25.0)):
        r = ((world[0] - c[0] - dx) / 9) ** 2 + ((world[1] - c[1] + 10) / 20) ** 2 + ((world[2] - c[2]) / 8) ** 2
        labels[r <= 1] = label
    return labels.reshape(vol.shape)


def _dice(a, b):
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def test_label_round_trip_native_grid_native(t1):
    labels = _hippocampus_like_labels(t1)
    cfg = PipelineConfig.preset("default", spacing=1.0, shape=(176, 224, 176), label_interpolation="linear")
    pipe = Pipeline(cfg)
    for vol, lab in ((t1, labels), (reorient(t1, "LIA"), reorient(t1.with_data(labels), "LIA").data)):
        batch = pipe([Sample(vol.data, vol.affine, labels=lab)])
        assert set(torch.unique(batch.labels).tolist()) <= {0, 1, 2}
        onehot = F.one_hot(batch.labels[:, 0], 3).permute(0, 4, 1, 2, 3).float()
        back = pipe.to_native(onehot, batch)[0].argmax(0).numpy()
        assert back.shape == vol.shape
        assert set(np.unique(back).tolist()) <= {0, 1, 2}, "no invented labels"
        for k in (1, 2):
            assert _dice(back == k, lab == k) > 0.98


def test_left_right_flip_swaps_labels_and_keeps_left_at_negative_x(t1):
    labels = _hippocampus_like_labels(t1)
    aug = AugmentConfig(flip_lr_prob=1.0, lr_label_pairs=((1, 2),))
    cfg = PipelineConfig.preset("default", augment=aug, label_interpolation="nearest")
    pipe = Pipeline(cfg)
    sample = Sample(t1.data, t1.affine, labels=labels)
    plain = pipe([sample])
    flipped = pipe([sample], augment=True, rng=0)
    assert flipped.flipped[0]
    # The grid is centred on the scan, so the mirror about that centre is a flip of grid axis 0.
    np.testing.assert_allclose(flipped.image[0, 0].numpy(), plain.image[0, 0].flip(0).numpy(), atol=1e-4)
    for batch in (plain, flipped):
        lab = batch.labels[0, 0].numpy()
        for k, sign in ((1, -1), (2, 1)):
            idx = np.argwhere(lab == k).mean(axis=0)
            x_world = (batch.affine[0] @ np.append(idx, 1))[0] - t1.center_world[0]
            assert np.sign(x_world) == sign, (k, x_world)


def test_augmentation_is_reproducible_per_seed(t1):
    cfg = PipelineConfig.preset("default")
    pipe = Pipeline(cfg)
    s = Sample(t1.data, t1.affine)
    a = pipe([s], augment=True, rng=3).image
    b = pipe([s], augment=True, rng=3).image
    c = pipe([s], augment=True, rng=4).image
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 0.1


def test_mixed_shapes_in_one_batch_match_single_volumes(t1):
    pd = load_volume(real_scan("chris_pd.nii.gz"))
    lia = reorient(t1, "LIA")
    pipe = Pipeline(PipelineConfig.preset("default", shape=(96, 112, 96)))
    batch = pipe([Sample(t1.data, t1.affine), Sample(pd.data, pd.affine), Sample(lia.data, lia.affine)])
    for i, vol in enumerate((t1, pd, lia)):
        single = pipe.preprocess(vol)
        assert torch.allclose(batch.image[i], single.image[0], atol=2e-3)
        np.testing.assert_allclose(batch.affine[i], single.affine[0])


def test_vt1_preset_matches_an_independent_scipy_cubic_resample(t1):
    """The reference project's method: centre voxel shape/2 on scan voxel shape/2, order 3, z-score > 0."""
    out = Pipeline(PipelineConfig.preset("vt1")).preprocess(t1)
    centre = t1.affine[:3, :3] @ (np.array(t1.shape) / 2.0) + t1.affine[:3, 3]
    target = np.diag([2.0, 2.0, 2.0, 1.0])
    target[:3, 3] = centre - 2.0 * 64
    np.testing.assert_allclose(out.affine[0], target, atol=1e-9)
    m = np.linalg.inv(t1.affine) @ target
    # float32 in and out, as the reference project ran scipy: its > 0 region depends on it.
    ref = ndi.affine_transform(t1.data.astype(np.float32), m[:3, :3], m[:3, 3], output_shape=(128,) * 3, order=3,
                               mode="constant", cval=0.0).astype(np.float64)
    fg = ref > 0
    ref = (ref - ref[fg].mean()) / ref[fg].std()
    got = out.image[0, 0].numpy()
    assert np.corrcoef(ref.ravel(), got.ravel())[0, 1] > 0.999
    assert np.percentile(np.abs(ref - got), 99) < 1e-3


def test_mask_centring_and_masking(t1):
    mask = np.zeros(t1.shape, np.uint8)
    mask[40:120, 60:200, 50:150] = 1
    cfg = PipelineConfig.preset("default", centre="mask", apply_mask=True, zscore_region="mask")
    out = Pipeline(cfg)([Sample(t1.data, t1.affine, mask=mask)])
    centroid = t1.affine[:3, :3] @ np.argwhere(mask).mean(axis=0) + t1.affine[:3, 3]
    grid_centre = out.affine[0][:3, :3] @ ((np.array(cfg.shape) - 1) / 2) + out.affine[0][:3, 3]
    np.testing.assert_allclose(grid_centre, centroid, atol=1e-6)
    inside = out.mask[0, 0] > 0
    assert abs(out.image[0, 0][inside].mean().item()) < 1e-3
    assert abs(out.image[0, 0][inside].std(unbiased=False).item() - 1) < 1e-3
    # Outside the mask the image was zeroed before normalisation: one constant value.
    outside = out.image[0, 0][~inside]
    assert outside.max() - outside.min() < 0.05


def test_config_is_plain_data_and_round_trips():
    cfg = PipelineConfig.preset("vt1", spacing=1.0, shape=(256, 256, 256))
    text = json.dumps(cfg.to_dict())
    again = PipelineConfig.from_dict(json.loads(text))
    assert again == cfg
    with pytest.raises(ValueError, match="unknown"):
        PipelineConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="interpolation"):
        PipelineConfig(interpolation="quintic")


def test_threaded_sampling_equals_plain_grid_sample(t1):
    """The CPU warp splits a batch of one across threads; every voxel must equal grid_sample's own."""
    from brainmri.core.resample import warp

    data = torch.from_numpy(t1.data.astype(np.float32))[None, None]
    m = np.eye(4)
    m[:3, :3] = rotation_matrix((9.0, -7.0, 11.0)) * 1.7
    m[:3, 3] = (5.0, -3.0, 8.0)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(max(2, threads))
        split = warp(data, m, (96, 100, 90))
    finally:
        torch.set_num_threads(threads)
    # Independent: grid_sample on an explicit meshgrid of theta @ (x, y, z, 1).
    idx = torch.stack(torch.meshgrid(*[torch.arange(n, dtype=torch.float64) for n in (96, 100, 90)],
                                     indexing="ij"), -1)
    src = idx @ torch.from_numpy(m[:3, :3]).T + torch.from_numpy(m[:3, 3])
    norm = src * 2.0 / (torch.tensor(t1.shape, dtype=torch.float64) - 1) - 1.0
    ref = F.grid_sample(data, norm.flip(-1)[None].float(), align_corners=True)
    assert torch.allclose(split, ref, atol=2e-3 * float(data.max()))


def test_reused_buffer_does_not_leak_between_scans(t1):
    """One pipeline over scans of different sizes gives what fresh pipelines give."""
    small = Volume(t1.data[20:150, 30:200, 10:170].copy(), t1.affine)
    cfg = PipelineConfig.preset("default", shape=(64, 64, 64), spacing=3.0)
    shared = Pipeline(cfg)
    outs = [shared.preprocess(v).image for v in (t1, small, t1)]
    for vol, out in zip((t1, small, t1), outs):
        assert torch.equal(out, Pipeline(cfg).preprocess(vol).image)
    assert not torch.equal(outs[0], outs[1])
