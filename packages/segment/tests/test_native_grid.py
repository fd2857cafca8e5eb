"""Labels come back on the scan's own grid with left = world x < 0, whatever the storage order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainmri.core.geometry import mask_centroid_world
from brainmri.core.orientation import reorient
from brainmri.core.pipeline import PipelineConfig, Sample
from brainmri.core.volume import Volume
from brainmri.segment.grids import IntensityStats
from brainmri.segment.inference import Segmenter

# Raw intensities of the hand-made scan: outside the scan (grid padding), background, left and
# right hippocampus; the oracle calls left only in a band around its level.
LEVELS = {"outside": 0.0, "background": 100.0, "left": 300.0, "right": 500.0}


class IntensityOracle(torch.nn.Module):
    """A padded 'network' calling each voxel by its raw intensity band (left/right by value).

    Stands in for a trained model so that only geometry is tested: it knows nothing about
    position, so correct sides on the native grid come from the resampling alone.
    """

    margin = 0

    def __init__(self, stats: IntensityStats):
        super().__init__()
        self.mean, self.std = stats.mean, stats.std
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # so the segmenter finds a device

    def output_size(self, n):
        return int(n)

    def valid_size(self, n):
        return int(n)

    def forward(self, x):
        raw = x * self.std + self.mean
        left = ((raw - LEVELS["left"]).abs() < 50).float()
        right = (raw > LEVELS["right"] - 50).float()
        return torch.cat([torch.ones_like(raw), 10 * left, 10 * right], dim=1) + self.anchor


def head(spacing=2.0, shape=(40, 44, 36), affine=None) -> tuple[Volume, Volume]:
    """A RAS volume with two blobs, left (x < 0, label 1) and right (label 2)."""
    if affine is None:
        affine = np.diag([spacing, spacing, spacing, 1.0])
        affine[:3, 3] = -spacing * (np.asarray(shape) - 1) / 2.0 + np.array([1.3, -2.1, 0.7])
    idx = np.indices(shape).reshape(3, -1)
    world = (affine[:3, :3] @ idx + affine[:3, 3:4]).reshape(3, *shape)
    x, y, z = world
    image = np.full(shape, LEVELS["background"], np.float32)
    labels = np.zeros(shape, np.uint8)
    for value, cx in ((1, -16.0), (2, 17.0)):  # left at x < 0
        blob = ((x - cx) / 7) ** 2 + ((y + 3) / 12) ** 2 + ((z - 2) / 6) ** 2 <= 1
        image[blob] = LEVELS[("left", "right")[value - 1]]
        labels[blob] = value
    return Volume(image, affine), Volume(labels, affine.copy())


def segmenter_for(volume: Volume, spacing=2.0) -> Segmenter:
    config = PipelineConfig(spacing=spacing, shape=(16, 16, 16), clip_percentiles=None)
    stats = IntensityStats.of(volume.data, config)
    model = IntensityOracle(stats)
    task = {
        "patch_size": [16, 16, 16],
        "classes": {"1": "left", "2": "right"},
        "lr_pairs": [[1, 2]],
        "overlap": 0.5,
        "tta": "none",
        "largest_component": True,
    }
    return Segmenter(model, config, task, device="cpu")


@pytest.mark.parametrize("orientation", ["RAS", "LAS", "PIL"])
def test_labels_are_exact_on_the_native_grid_of_each_storage_order(orientation):
    image, truth = head()
    stored, stored_truth = reorient(image, orientation), reorient(truth, orientation)
    assert stored.orientation == orientation
    seg = segmenter_for(stored).segment(stored)
    assert seg.labels.shape == stored.shape and seg.labels.dtype == np.uint8
    assert np.array_equal(seg.labels, stored_truth.data)
    assert (
        mask_centroid_world(seg.labels == 1, stored.affine)[0]
        < 0
        < mask_centroid_world(seg.labels == 2, stored.affine)[0]
    )


@pytest.mark.parametrize("orientation", ["RAS", "LAS", "PIL"])
def test_a_finer_grid_than_the_scan_still_returns_the_sides_on_the_native_grid(orientation):
    image, truth = head()
    stored, stored_truth = reorient(image, orientation), reorient(truth, orientation)
    labels = segmenter_for(stored, spacing=1.3).segment(stored).labels
    for value in (1, 2):
        p, t = labels == value, stored_truth.data == value
        assert 2 * (p & t).sum() / (p.sum() + t.sum()) > 0.9
    assert mask_centroid_world(labels == 1, stored.affine)[0] < 0


def test_oblique_scan_labels_follow_world_left_right():
    from brainmri.core.geometry import rotation_matrix

    affine = np.eye(4)
    affine[:3, :3] = rotation_matrix((8.0, -5.0, 20.0)) @ np.diag([2.0, 1.8, 2.2])
    affine[:3, 3] = -affine[:3, :3] @ ((np.array([42, 46, 38]) - 1) / 2.0)
    image, truth = head(shape=(42, 46, 38), affine=affine)
    labels = segmenter_for(image).segment(image).labels
    for value in (1, 2):
        p, t = labels == value, truth.data == value
        assert 2 * (p & t).sum() / (p.sum() + t.sum()) > 0.85
    assert (
        mask_centroid_world(labels == 1, affine)[0] < -10 and mask_centroid_world(labels == 2, affine)[0] > 10
    )


@pytest.mark.parametrize("channels_last", [None, False])
def test_segmenting_between_epochs_leaves_the_model_trainable(channels_last):
    """Validation during training (SegmentTrainer) segments with the model in training: the
    Segmenter must not turn its parameters into inference tensors (a later backward raised
    "Inference tensors cannot be saved for backward"), nor change their layout when asked not to
    (DDP's gradient buckets keep the layout they were built with)."""
    from brainmri.segment.task import TASK

    torch.manual_seed(0)
    model = TASK.build_model({"arch": "vt1-unet", "out_features": 3, "options": {"levels": 2, "base_filters": 4}})
    strides = {name: p.stride() for name, p in model.named_parameters()}
    image, _ = head()
    config = PipelineConfig(spacing=2.0, shape=(16, 16, 16), clip_percentiles=None)
    task = {"patch_size": [model.valid_size(16)] * 3, "classes": {"1": "left", "2": "right"}, "tta": "none"}
    segmenter = Segmenter(model, config, task, device="cpu", channels_last=channels_last)
    segmenter.probabilities(segmenter.prepare(Sample(image.data, image.affine)))
    assert not any(p.is_inference() for p in model.parameters())
    if channels_last is False:
        assert {name: p.stride() for name, p in model.named_parameters()} == strides
    model.train()
    x = torch.randn(1, 1, *[model.valid_size(16)] * 3)
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
