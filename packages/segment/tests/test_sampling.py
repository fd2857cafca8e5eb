"""Label-biased patches (one resample, scan-level normalisation, flips swap sides) and the losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import map_coordinates

from brainmri.core.orientation import reorient
from brainmri.core.pipeline import AugmentConfig, PipelineConfig, Sample
from brainmri.core.synth import make_phantom
from brainmri.segment.grids import IntensityStats
from brainmri.segment.losses import centre_crop, probability_loss, segmentation_loss
from brainmri.segment.sampling import PatchSampler


@pytest.fixture(scope="module")
def phantom_sample():
    ph = make_phantom(1, 55.0, seed=11, spacing=2.0, orientation="RAS")
    stored = reorient(ph.image, "PIL")  # a non-RAS storage order
    labels = reorient(ph.hippocampus, "PIL")
    return Sample(stored.data, stored.affine, labels=labels.data, meta={"path": "phantom", "subject_id": "p"})


def _config(**augment) -> PipelineConfig:
    # Odd sizes: the centre is a voxel. Patch centres are native voxel centres and the spacing is the
    # scan's, so patch voxels fall on native voxel centres (no nearest-neighbour ties).
    return PipelineConfig(
        spacing=2.0, shape=(21, 25, 19), augment=AugmentConfig(lr_label_pairs=((1, 2),), **augment)
    )


def test_patch_values_are_one_linear_resample_of_the_native_scan_normalised_by_scan_statistics(
    phantom_sample,
):
    cfg = _config()
    batch = PatchSampler(cfg, patches_per_scan=3, foreground_fraction=0.5)([phantom_sample], rng=4)
    stats = IntensityStats.of(phantom_sample.data, cfg)
    data = phantom_sample.data.astype(np.float64)
    for i in range(3):
        idx = np.indices(cfg.shape).reshape(3, -1).astype(np.float64)
        native = batch.matrix[i][:3, :3] @ idx + batch.matrix[i][:3, 3:4]
        raw = map_coordinates(data, native, order=1, mode="constant", cval=0.0).reshape(cfg.shape)
        expected = (np.clip(raw, stats.low, stats.high) - stats.mean) / stats.std
        assert np.abs(batch.image[i, 0].numpy() - expected).max() < 1e-3
        lab = map_coordinates(phantom_sample.labels, native, order=0, mode="constant", cval=0).reshape(
            cfg.shape
        )
        assert np.array_equal(batch.labels[i, 0].numpy(), lab)
        # the patch grid is world-aligned (RAS) and centred on the chosen world point
        assert np.allclose(batch.affine[i][:3, :3], np.diag(cfg.spacing))
        centre = batch.affine[i][:3, :3] @ ((np.array(cfg.shape) - 1) / 2) + batch.affine[i][:3, 3]
        assert np.allclose(centre, batch.meta[i]["centre_world"])


def test_most_patches_are_centred_on_a_labelled_voxel_of_either_side(phantom_sample):
    sampler = PatchSampler(_config(), patches_per_scan=50, foreground_fraction=0.75)
    batch = sampler([phantom_sample], rng=0)
    on = np.array([m["on_label"] for m in batch.meta])
    centre = tuple((np.array(_config().shape) - 1) // 2)
    centres = batch.labels[:, 0][(slice(None), *centre)].numpy()
    assert 0.55 < on.mean() < 0.95  # 0.75 +- 3 sd of a binomial of 50
    assert np.all(centres[on] > 0) and {1, 2} <= set(centres[on].tolist())
    assert np.mean(centres[~on] > 0) < 0.2  # the uniform rest rarely hits a hippocampus


def test_left_right_flip_mirrors_the_patch_and_swaps_labels(phantom_sample):
    plain = PatchSampler(_config(), patches_per_scan=1, foreground_fraction=1.0)([phantom_sample], rng=7)
    flipped = PatchSampler(_config(flip_lr_prob=1.0), patches_per_scan=1, foreground_fraction=1.0)(
        [phantom_sample], augment=True, rng=7
    )
    assert (
        flipped.flipped.tolist() == [True]
        and plain.meta[0]["centre_world"] == flipped.meta[0]["centre_world"]
    )
    assert torch.allclose(flipped.image, plain.image.flip(2), atol=1e-4)
    mirrored = plain.labels.flip(2)
    swapped = torch.where(mirrored == 1, 2, torch.where(mirrored == 2, 1, mirrored))
    assert torch.equal(flipped.labels, swapped) and (swapped > 0).any()


def test_centre_crop_and_losses_against_hand_computation():
    target = torch.zeros(1, 1, 6, 6, 6, dtype=torch.long)
    target[0, 0, 2:4, 2:4, 2:4] = 1
    target[0, 0, 0, 0, 0] = 2  # outside the centre 4^3: cropped away
    logits = torch.zeros(1, 3, 4, 4, 4)
    logits[:, 0] = 20.0
    logits[:, 0, 1:3, 1:3, 1:3] = 0.0
    logits[:, 1, 1:3, 1:3, 1:3] = 20.0  # class 1 exactly where the cropped target has it
    assert torch.equal(centre_crop(target, (4, 4, 4))[0, 0], target[0, 0, 1:5, 1:5, 1:5])
    # class 2 is absent from both crop and prediction: its smoothed Dice is 1, class 1 is ~1
    assert float(segmentation_loss(logits, target, "dice")) < 0.01
    ce = F.cross_entropy(logits, centre_crop(target, (4, 4, 4))[:, 0])
    assert float(segmentation_loss(logits, target, "ce")) == pytest.approx(float(ce))
    uniform = torch.zeros(1, 3, 4, 4, 4)
    probs = torch.full((1, 3, 4, 4, 4), 1 / 3)
    crop = centre_crop(target, (4, 4, 4))
    inter = (crop == 1).sum() / 3
    dice1 = (2 * inter + 1e-5) / (64 / 3 + (crop == 1).sum() + 1e-5)
    dice2 = (0 + 1e-5) / (64 / 3 + 1e-5)
    expected = 1 - (dice1 + dice2) / 2 + np.log(3)
    assert float(segmentation_loss(uniform, target, "dice_ce")) == pytest.approx(float(expected), rel=1e-5)
    assert float(probability_loss(probs, crop, "dice_ce")) == pytest.approx(float(expected), rel=1e-5)
    weighted = segmentation_loss(uniform, target, "ce", class_weights=[1.0, 5.0, 5.0])
    assert float(weighted) == pytest.approx(np.log(3), rel=1e-5)  # uniform logits: every voxel costs log 3
