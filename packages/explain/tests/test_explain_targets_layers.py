"""Target selection per task kind, layer choice and upsampling alignment (hand-made cases)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from explain_fixtures import GRID_SHAPE, GatedNet
from scipy.ndimage import correlate
from torch import nn

from brainmri.core.errors import BrainmriError
from brainmri.core.tasks import Task
from brainmri.explain.attribution import attribute
from brainmri.explain.layers import conv_layers, default_layer, get_layer
from brainmri.explain.native import upsample_to_grid
from brainmri.explain.targets import infer_kind, select_target


class _MeanOfOutputs(Task):
    """A task that explains the mean of its outputs (as a soft-label age task explains its expected age)."""

    def explain_target(self, outputs, task_config):
        return "mean output", lambda o: o.float().mean(dim=1)


def test_kinds_follow_the_outputs_and_the_task():
    assert infer_kind(torch.zeros(1, 2)) == "classify"
    assert infer_kind(torch.zeros(1, 1)) == "regress"
    assert infer_kind(torch.zeros(1, 40), task=_MeanOfOutputs()) == "regress"
    assert infer_kind(torch.zeros(1, 40), task=Task()) == "classify"
    assert infer_kind(torch.zeros(1, 3, 4, 4, 4)) == "segment"


def test_classification_target_defaults_to_the_predicted_class_and_checks_range():
    out = torch.tensor([[0.3, 2.0, -1.0]])
    t = select_target(out)
    assert t.index == 1 and t.score == pytest.approx(2.0) and "predicted" in t.label
    assert torch.equal(t.reduce(torch.tensor([[5.0, 6.0, 7.0], [1.0, 2.0, 3.0]])), torch.tensor([6.0, 2.0]))
    t0 = select_target(out, target="2")
    assert t0.index == 2 and t0.score == pytest.approx(-1.0)
    with pytest.raises(BrainmriError, match="out of range"):
        select_target(out, target=3)
    with pytest.raises(BrainmriError, match="integer"):
        select_target(out, target="female")


def test_regression_target_is_the_output_or_the_tasks_own_scalar():
    t = select_target(torch.tensor([[0.7]]))
    assert t.kind == "regress" and t.score == pytest.approx(0.7)
    with pytest.raises(BrainmriError, match="regression"):
        select_target(torch.tensor([[0.7]]), target=1)
    t = select_target(torch.tensor([[0.0, 1.0, 5.0]]), task=_MeanOfOutputs())
    assert t.kind == "regress" and t.label == "mean output" and t.score == pytest.approx(2.0)
    with pytest.raises(BrainmriError, match="mean output"):
        select_target(torch.tensor([[0.0, 1.0, 5.0]]), task=_MeanOfOutputs(), target=1)


def test_segmentation_target_is_the_class_logit_sum_inside_its_predicted_region():
    torch.manual_seed(0)
    out = torch.randn(1, 3, 5, 6, 7)
    pred = out[0].argmax(0).numpy()
    sizes = [(pred == c).sum() for c in range(3)]
    largest = 1 + int(np.argmax(sizes[1:]))
    t = select_target(out)
    assert t.kind == "segment" and t.index == largest
    logits = out[0, largest].numpy()
    assert t.score == pytest.approx(float(logits[pred == largest].sum()), rel=1e-5)
    t2 = select_target(out, target=2)
    assert t2.score == pytest.approx(float(out[0, 2].numpy()[pred == 2].sum()), rel=1e-5)


def test_integrated_gradients_of_a_linear_segmenter_add_up_to_the_target_change():
    # Completeness: for a linear network the attributions sum exactly to T(x) - T(baseline),
    # with T computed here by scipy (the region is the argmax of the network on x).
    torch.manual_seed(1)
    net = nn.Conv3d(1, 3, 3, padding=1, bias=True).eval()
    x = torch.randn(1, 1, 10, 10, 10)
    w, b = net.weight.detach().numpy(), net.bias.detach().numpy()

    def logits(vol):
        return np.stack([correlate(vol, w[c, 0], mode="constant") + b[c] for c in range(3)])

    xs = x[0, 0].numpy().astype(np.float64)
    base = np.full_like(xs, xs.min())
    lx = logits(xs)
    region = lx.argmax(0) == 2
    expected = lx[2][region].sum() - logits(base)[2][region].sum()
    result = attribute(net, x, target=2, method="integrated-gradients", steps=8)
    assert result.target.kind == "segment"
    assert float(result.grid_map.sum()) == pytest.approx(expected, rel=1e-3)


def test_default_layer_is_the_last_spatial_conv_block_or_the_registry_choice(scan):
    net = GatedNet(np.array([5, 5, 5]), np.array([12, 12, 12]))
    infos = {i.name: i for i in conv_layers(net, (1, 1, *GRID_SHAPE))}
    assert set(infos) == {"conv", "block", "block.0", "head"}
    assert infos["conv"].out_shape == (1, 4, 32, 32, 32) and infos["block"].out_shape == (1, 8, 16, 16, 16)
    assert not infos["head"].spatial  # the 1x1x1 head is never picked
    assert default_layer(net, (1, 1, *GRID_SHAPE)) == "block"
    assert default_layer(net, (1, 1, *GRID_SHAPE), preferred="conv") == "conv"
    assert default_layer(net, (1, 1, *GRID_SHAPE), preferred="head") == "block"  # not spatial: ignored
    with pytest.raises(BrainmriError, match="no layer 'nope'"):
        get_layer(net, "nope")


def test_upsampling_puts_each_coarse_voxel_on_the_centre_of_the_block_it_covers():
    coarse = torch.zeros(1, 1, 4, 4, 4)
    coarse[0, 0, 1, 2, 3] = 1.0
    fine = upsample_to_grid(coarse, (8, 8, 8))[0, 0].numpy()
    assert fine.shape == (8, 8, 8)
    # Centre of mass at (2i + 0.5) along each axis: the centre of input voxels 2i and 2i+1.
    grids = np.meshgrid(*[np.arange(8)] * 3, indexing="ij")
    com = [float((g * fine).sum() / fine.sum()) for g in grids]
    assert com[0] == pytest.approx(2.5) and com[1] == pytest.approx(4.5)
    # The last axis is clipped at the border (voxel 3 is the last), so its mass leans inward.
    assert 6.0 < com[2] <= 6.5 + 1e-6
    peaks = np.argwhere(fine == fine.max())
    assert set(peaks[:, 0]) == {2, 3} and set(peaks[:, 1]) == {4, 5}


class _GatedSegmenter(nn.Module):
    """Two-class segmenter that can only call voxels inside a gate foreground."""

    def __init__(self, lo, hi):
        super().__init__()
        gate = torch.zeros(1, 1, *GRID_SHAPE)
        gate[..., lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1] = 1.0
        self.register_buffer("gate", gate)
        self.features = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1, bias=False), nn.ReLU())
        self.classes = nn.Conv3d(4, 2, 1)
        with torch.no_grad():
            self.features[0].weight.fill_(1.0 / 27)
            self.classes.weight.zero_()
            self.classes.weight[1].fill_(1.0)
            self.classes.bias.copy_(torch.tensor([0.0, -0.5]))

    def forward(self, x):
        return self.classes(self.features(x * self.gate))


def test_segmentation_gradcam_lands_on_the_predicted_region(scan, pipeline):
    from explain_fixtures import BLOB, GATE_HALF, GRID_SPACING, gate_box, grid_affine_by_hand

    from brainmri.explain.workflow import explain_volume

    net = _GatedSegmenter(*gate_box(grid_affine_by_hand(scan))).eval()
    expl = explain_volume(net, pipeline, scan, method="gradcam")
    assert expl.attribution.target.index == 1 and "predicted region" in expl.attribution.target.label
    assert expl.attribution.layer == "features"
    ijk = np.stack(np.meshgrid(*[np.arange(s) for s in scan.shape], indexing="ij"), -1)
    world = ijk @ scan.affine[:3, :3].T + scan.affine[:3, 3]
    near = (np.abs(world - BLOB) <= (GATE_HALF + 2) * GRID_SPACING).all(-1)
    positive = np.clip(expl.native_map, 0, None)
    assert positive.sum() > 0 and positive[near].sum() / positive.sum() > 0.99
