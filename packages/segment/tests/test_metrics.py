"""Dice, HD95 (mm) and volumes against independent computations on hand-made label maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from brainmri.segment.metrics import dice, hausdorff, hd95, segmentation_metrics, summarise, surface_voxels


def brute_surface(mask: np.ndarray) -> np.ndarray:
    """Voxels of the mask with a face neighbour outside it (outside the array counts as outside)."""
    padded = np.pad(mask, 1)
    inner = np.ones_like(mask)
    for axis in range(3):
        for shift in (-1, 1):
            inner &= np.roll(padded, shift, axis=axis)[1:-1, 1:-1, 1:-1]
    return mask & ~inner


def brute_hd(pred, true, spacing, q=95.0) -> float:
    """Symmetric percentile Hausdorff distance from all pairwise surface distances (no EDT)."""
    a = np.argwhere(brute_surface(pred)) * np.asarray(spacing)
    b = np.argwhere(brute_surface(true)) * np.asarray(spacing)
    d = cdist(a, b)
    return max(np.percentile(d.min(axis=1), q), np.percentile(d.min(axis=0), q))


def ellipsoid(shape, centre, radii) -> np.ndarray:
    idx = np.indices(shape).astype(float)
    return sum(((idx[i] - centre[i]) / radii[i]) ** 2 for i in range(3)) <= 1.0


def blob(seed: int, shape=(24, 20, 18)) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    field = gaussian_filter(rng.normal(size=shape), 2.5)
    return field > np.percentile(field, 80)


def test_single_voxels_give_the_euclidean_distance_in_mm_with_anisotropic_spacing():
    pred = np.zeros((8, 8, 8), bool)
    true = np.zeros((8, 8, 8), bool)
    pred[1, 1, 1] = True
    true[4, 5, 2] = True  # 3, 4 and 1 voxels apart
    assert hd95(pred, true) == pytest.approx(math.sqrt(9 + 16 + 1))
    assert hd95(pred, true, (2.0, 0.5, 3.0)) == pytest.approx(math.sqrt(36 + 4 + 9))
    assert hausdorff(pred, true, (2.0, 0.5, 3.0), 100) == pytest.approx(math.sqrt(49))


def test_surface_voxels_are_the_mask_minus_its_6_connected_interior():
    m = ellipsoid((15, 13, 11), (7, 6, 5), (6, 5, 4))
    m[0, 6, 5] = True  # touches the array border
    assert np.array_equal(surface_voxels(m), brute_surface(m))
    cube = np.zeros((7, 7, 7), bool)
    cube[1:6, 1:6, 1:6] = True
    assert surface_voxels(cube).sum() == 125 - 27


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.86, 0.86, 2.4), (2.0, 0.5, 1.3)])
@pytest.mark.parametrize("seeds", [(0, 1), (2, 3), (4, 4)])
def test_hd95_matches_pairwise_surface_distances(spacing, seeds):
    pred, true = blob(seeds[0]), blob(seeds[1])
    assert hd95(pred, true, spacing) == pytest.approx(brute_hd(pred, true, spacing), abs=1e-9)
    assert hausdorff(pred, true, spacing, 100) == pytest.approx(brute_hd(pred, true, spacing, 100), abs=1e-9)


def test_hd95_is_symmetric_and_catches_a_far_outlier_only_above_5_percent():
    true = ellipsoid((40, 30, 30), (15, 15, 15), (8, 8, 8))
    pred = true.copy()
    pred[36, 15, 15] = True  # one stray voxel 13 voxels away from the sphere's surface
    spacing = (1.0, 1.0, 1.0)
    assert hd95(pred, true, spacing) == pytest.approx(brute_hd(pred, true, spacing))
    assert hd95(pred, true, spacing) == pytest.approx(hd95(true, pred, spacing))
    assert hd95(pred, true, spacing) < 1.0  # one voxel of hundreds of surface voxels is not the 95th percentile
    assert hausdorff(pred, true, spacing, 100) == pytest.approx(13.0)


def test_concentric_spheres_hd_is_the_radius_difference():
    outer = ellipsoid((41, 41, 41), (20, 20, 20), (15, 15, 15))
    inner = ellipsoid((41, 41, 41), (20, 20, 20), (10, 10, 10))
    assert hausdorff(inner, outer, (1, 1, 1), 100) == pytest.approx(brute_hd(inner, outer, (1, 1, 1), 100))
    assert 4.0 <= hausdorff(inner, outer, (1, 1, 1), 100) <= 6.0


def test_dice_on_known_overlaps():
    a = np.zeros((10, 10, 10), bool)
    b = np.zeros((10, 10, 10), bool)
    a[0:4, 0:5, 0:5] = True  # 100 voxels
    b[2:6, 0:5, 0:5] = True  # 100 voxels, 50 shared
    assert dice(a, b) == pytest.approx(0.5)
    assert dice(a, a) == 1.0
    assert dice(a, ~a) == 0.0


def test_empty_sides_dice_one_hd_zero_when_both_empty_else_dice_zero_hd_inf():
    empty = np.zeros((6, 6, 6), bool)
    full = empty.copy()
    full[2:4, 2:4, 2:4] = True
    assert dice(empty, empty) == 1.0 and hd95(empty, empty) == 0.0
    assert dice(full, empty) == 0.0 and hd95(full, empty) == math.inf
    assert dice(empty, full) == 0.0 and hd95(empty, full) == math.inf


def test_segmentation_metrics_per_side_with_volumes_in_mm3():
    true = np.zeros((20, 20, 20), np.uint8)
    true[2:6, 2:6, 2:6] = 1  # 64 voxels left
    true[12:16, 2:6, 2:6] = 2  # 64 voxels right
    pred = true.copy()
    pred[12:16, 2:6, 2:6] = 0
    pred[13:17, 2:6, 2:6] = 2  # right shifted by one voxel: 48 shared
    affine = np.diag([0.5, 1.0, 2.0, 1.0])  # 1 mm3 voxels
    affine[:3, 3] = [-5, 3, 7]
    m = segmentation_metrics(pred, true, affine)
    assert m["dice_left"] == 1.0 and m["hd95_left"] == 0.0
    assert m["dice_right"] == pytest.approx(2 * 48 / 128)
    assert m["hd95_right"] == pytest.approx(brute_hd(pred == 2, true == 2, (0.5, 1.0, 2.0)))
    assert m["vol_true_left"] == 64.0 and m["vol_pred_right"] == 64.0 and m["vol_diff_right"] == 0.0
    assert m["dice_mean"] == pytest.approx((1.0 + 0.75) / 2)

    pred[pred == 2] = 0  # the right side missed entirely
    m = segmentation_metrics(pred, true, affine)
    assert m["dice_right"] == 0.0 and m["hd95_right"] == math.inf
    assert m["vol_diff_right"] == -64.0 and m["vol_diff_pct_right"] == -100.0


def test_summarise_leaves_infinite_hd95_out_of_the_mean_and_counts_it():
    rows = [{"dice": 0.8, "hd95": 2.0}, {"dice": 0.6, "hd95": 4.0}, {"dice": 0.0, "hd95": math.inf}]
    s = summarise(rows)
    assert s["dice"]["mean"] == pytest.approx(np.mean([0.8, 0.6, 0.0]))
    assert s["dice"]["sd"] == pytest.approx(np.std([0.8, 0.6, 0.0], ddof=1))
    assert s["hd95"]["mean"] == pytest.approx(3.0) and s["hd95"]["n"] == 2 and s["hd95"]["n_inf"] == 1


def test_summarise_gives_a_95_percent_bootstrap_interval_of_the_mean():
    values = np.random.default_rng(0).normal(0.8, 0.05, size=40)
    s = summarise([{"dice": v} for v in values], n_boot=2000)["dice"]
    low, high = s["ci95"]
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values))  # the normal-theory interval it approximates
    assert low < values.mean() < high
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)
    assert summarise([{"dice": 0.5}], n_boot=0)["dice"]["ci95"] == [pytest.approx(math.nan, nan_ok=True)] * 2


def test_hd95_agrees_with_monai():
    monai_metrics = pytest.importorskip(
        "monai.metrics",
        reason="MONAI, the independent reference, is installed by "
        "nox -s tests (it is no dependency of brainmri-segment)",
    )
    import torch

    spacing = (0.86, 0.86, 2.4)
    pred, true = blob(5), blob(6)
    onehot = [torch.from_numpy(np.stack([~m, m])[None].astype(np.float32)) for m in (pred, true)]
    metric = monai_metrics.HausdorffDistanceMetric(include_background=False, percentile=95)
    value = float(metric(onehot[0], onehot[1], spacing=spacing)[0, 0])
    assert hd95(pred, true, spacing) == pytest.approx(value, abs=1e-4)
