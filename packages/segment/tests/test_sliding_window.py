"""Sliding-window inference, mirroring TTA and the largest-component clean-up, on hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from brainmri.segment.inference import fitted_window
from brainmri.segment.models import VT1UNet
from brainmri.segment.postprocess import keep_largest_components
from brainmri.segment.sliding_window import gaussian_importance_map, sliding_window_inference, window_starts
from brainmri.segment.tta import mirror_tta


def test_window_starts_step_by_roi_times_one_minus_overlap_and_end_at_the_border():
    assert window_starts(10, 4, 0.5) == [0, 2, 4, 6]
    assert window_starts(11, 4, 0.5) == [0, 2, 4, 6, 7]
    assert window_starts(11, 4, 0.25) == [0, 3, 6, 7]
    assert window_starts(8, 8, 0.5) == [0]
    assert window_starts(5, 8, 0.5) == [0]
    assert window_starts(9, 4, 0.0) == [0, 4, 5]


def test_gaussian_map_is_the_clamped_product_of_1d_gaussians():
    w = gaussian_importance_map((5, 6, 7), 0.125).double().numpy()
    expected = np.ones((5, 6, 7))
    for axis, n in enumerate((5, 6, 7)):
        d = np.arange(n) - (n - 1) / 2.0
        g = np.exp(-(d**2) / (2 * (0.125 * n) ** 2))
        shape = [1, 1, 1]
        shape[axis] = n
        expected = expected * g.reshape(shape)
    expected = np.maximum(expected, max(expected.min(), 1e-3))
    assert np.allclose(w, expected, rtol=1e-5, atol=1e-7)
    assert w.max() < 1.0 + 1e-6 and w.min() == pytest.approx(1e-3, rel=1e-5)  # corners are clamped


def _naive_blend(image, predictor, roi, overlap, sigma):
    """Per-voxel weighted average over every window containing it (loops, independent weights)."""
    c, *size = image.shape
    starts = []
    for n, r in zip(size, roi):  # placement written out again: step int(r*(1-o)), last window at the end
        step = max(int(r * (1 - overlap)), 1)
        s, pos = 0, []
        while True:
            pos.append(min(s, n - r))
            if s + r >= n:
                break
            s += step
        starts.append(pos)
    grids = [np.arange(r) - (r - 1) / 2.0 for r in roi]
    g = [np.exp(-(x**2) / (2 * (sigma * r) ** 2)) for x, r in zip(grids, roi)]
    weight = g[0][:, None, None] * g[1][None, :, None] * g[2][None, None, :]
    weight = np.maximum(weight, max(weight.min(), 1e-3))
    num = None
    den = np.zeros(size)
    for x in starts[0]:
        for y in starts[1]:
            for z in starts[2]:
                win = image[None, :, x : x + roi[0], y : y + roi[1], z : z + roi[2]]
                out = predictor(torch.from_numpy(win)).double().numpy()[0]
                if num is None:
                    num = np.zeros((out.shape[0], *size))
                num[:, x : x + roi[0], y : y + roi[1], z : z + roi[2]] += out * weight
                den[x : x + roi[0], y : y + roi[1], z : z + roi[2]] += weight
    return num / den


def test_blending_a_window_dependent_predictor_matches_a_naive_per_voxel_average():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(1, 13, 11, 9)).astype(np.float32)

    def predictor(x):  # depends on the whole window: each window gives a different value per voxel
        mean = x.mean(dim=(1, 2, 3, 4), keepdim=True)
        return torch.cat([x - mean, x * mean, torch.ones_like(x) * mean], dim=1)

    out = sliding_window_inference(torch.from_numpy(image), predictor, (6, 5, 4), overlap=0.5)
    expected = _naive_blend(image, predictor, (6, 5, 4), 0.5, 0.125)
    assert out.shape == (3, 13, 11, 9)
    assert np.abs(out.numpy() - expected).max() < 1e-5


def test_a_volume_smaller_than_the_window_is_padded_and_cropped_back():
    image = torch.arange(4 * 5 * 6, dtype=torch.float32).reshape(1, 1, 4, 5, 6)
    calls = []

    def predictor(x):
        calls.append(tuple(x.shape[2:]))
        return x * 2

    out = sliding_window_inference(image, predictor, (8, 5, 8), overlap=0.5, sw_batch_size=4)
    assert calls == [(8, 5, 8)]
    assert torch.allclose(out, image * 2)


def test_unpadded_network_sliding_window_equals_one_pass_over_the_whole_volume():
    torch.manual_seed(0)
    net = VT1UNet(out_channels=3, base_filters=4, levels=2, norm="none").eval()
    margin = net.margin
    image = torch.randn(1, 1, 40, 36, 44)  # interior 24 x 20 x 28
    whole = torch.softmax(net(image), dim=1)
    with torch.no_grad():
        tiled = sliding_window_inference(
            image,
            lambda x: torch.softmax(net(x), 1),
            roi_size=(20, 24, 28),
            overlap=0.5,
            margin=margin,
            sw_batch_size=3,
        )
        abutting = sliding_window_inference(
            image, lambda x: torch.softmax(net(x), 1), roi_size=(20, 24, 28), overlap=0.0, margin=margin
        )
    assert tiled.shape == whole.shape == abutting.shape == (1, 3, 24, 20, 28)
    assert (tiled - whole).abs().max() < 1e-5 and (abutting - whole).abs().max() < 1e-5


def test_fitted_window_covers_a_2mm_head_with_one_window_of_the_fewest_voxels():
    """A 2 mm head's output grid (90x120x120) takes one window (hand-computed: each axis + 2 x 20
    margin, rounded up to a valid size: 132, 160, 160), not eight of 128^3; under a smaller budget
    the windows stay within it and still cover the grid."""
    net = VT1UNet(base_filters=2, norm="batch")
    assert fitted_window(net, (90, 120, 120)) == (132, 160, 160)
    assert fitted_window(net, (88, 88, 88)) == (128, 128, 128)
    roi = fitted_window(net, (90, 120, 120), budget=128**3)
    assert math.prod(roi) <= 128**3
    tiles = [net.output_size(r) for r in roi]
    counts = [len(window_starts(n, t, 0.0)) for n, t in zip((90, 120, 120), tiles)]
    assert all(c * t >= n for c, t, n in zip(counts, tiles, (90, 120, 120)))
    assert math.prod(counts) * math.prod(roi) < 8 * 128**3  # fewer input voxels than 128^3 windows
    assert fitted_window(net, (900, 900, 900), budget=64**3) is None


def test_segmenter_runs_an_unpadded_batchnorm_network_once_over_a_whole_head():
    """Without a given window, a window-independent network sees the whole 2 mm head grid in one
    window: the probabilities equal the network applied to the grid's input in one pass."""
    from brainmri.core.pipeline import PipelineConfig, Sample
    from brainmri.segment.inference import Segmenter

    torch.manual_seed(0)
    net = VT1UNet(out_channels=3, base_filters=2, norm="batch").eval()
    for m in net.modules():  # non-trivial running statistics
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    data = np.random.default_rng(0).normal(100, 20, (90, 120, 120)).astype(np.float32)
    config = PipelineConfig(spacing=2.0, shape=(48, 48, 48), clip_percentiles=None)
    task = {"patch_size": [48, 48, 48], "classes": {"1": "left", "2": "right"}, "tta": "none"}
    segmenter = Segmenter(net, config, task, device="cpu", channels_last=False)
    calls = []
    predictor = segmenter.predictor()
    segmenter.predictor = lambda: lambda x: calls.append(tuple(x.shape[2:])) or predictor(x)
    grid = segmenter.prepare(Sample(data, affine))
    probs = segmenter.probabilities(grid)
    assert calls == [(132, 160, 160)]
    with torch.no_grad():
        # 130 input voxels along x: the window's 132, one zero voxel each side (as MONAI pads)
        whole = torch.softmax(net(torch.nn.functional.pad(grid.input, (0, 0, 0, 0, 1, 1))), dim=1)[0]
    assert probs.shape == (3, 90, 120, 120)
    assert (probs - whole[:, 1:91]).abs().max() < 1e-5


def test_mirror_tta_averages_flipped_passes_and_swaps_left_right_after_the_x_flip():
    torch.manual_seed(1)
    net = torch.nn.Conv3d(1, 3, 3, padding=1)  # not mirror symmetric

    def predictor(x):
        return torch.softmax(net(x), dim=1)

    x = torch.randn(2, 1, 6, 7, 8)
    with torch.no_grad():
        plain = predictor(x)
        flipped = predictor(x.flip(2)).flip(2)[:, [0, 2, 1]]
        assert torch.allclose(mirror_tta(predictor, "flip-x")(x), (plain + flipped) / 2, atol=1e-6)
        assert torch.allclose(
            mirror_tta(predictor, "flip-x", lr_pairs=())(x),
            (plain + predictor(x.flip(2)).flip(2)) / 2,
            atol=1e-6,
        )
        all8 = mirror_tta(predictor, "all")(x)
        manual = 0
        for axes in ((), (2,), (3,), (4,), (2, 3), (2, 4), (3, 4), (2, 3, 4)):
            out = predictor(x.flip(axes) if axes else x)
            out = out.flip(axes) if axes else out
            manual = manual + (out[:, [0, 2, 1]] if 2 in axes else out)
        assert torch.allclose(all8, manual / 8, atol=1e-6)
        assert mirror_tta(predictor, "none") is predictor


def test_tta_of_a_left_right_aware_predictor_keeps_sides_in_world_terms():
    # A predictor that calls voxels with x < centre "left" (1) and the others "right" (2):
    # mirroring must give the same answer, which only holds with the label swap.
    def predictor(x):
        n = x.shape[2]
        left = (torch.arange(n) < n / 2).float().view(1, 1, n, 1, 1).expand(x.shape[0], 1, *x.shape[2:])
        return torch.cat([torch.zeros_like(left), left, 1 - left], dim=1)

    x = torch.zeros(1, 1, 8, 3, 3)
    assert torch.equal(mirror_tta(predictor, "all")(x), predictor(x))


def test_keep_largest_component_per_side():
    labels = np.zeros((20, 20, 20), np.uint8)
    labels[1:6, 1:6, 1:6] = 1  # 125 voxels
    labels[10:12, 1:3, 1:3] = 1  # 8 voxels, separate
    labels[14:19, 14:19, 14:19] = 2
    labels[1:3, 14:16, 14:16] = 2
    labels[6, 6, 6] = 1  # diagonal neighbour of the big left block: kept with 26-connectivity
    out = keep_largest_components(labels)
    expected = labels.copy()
    expected[10:12, 1:3, 1:3] = 0
    expected[1:3, 14:16, 14:16] = 0
    assert np.array_equal(out, expected)
    assert np.array_equal(keep_largest_components(np.zeros((4, 4, 4), np.uint8)), np.zeros((4, 4, 4)))


@pytest.mark.parametrize("levels,margin", [(1, 2), (2, 8), (3, 20)])
def test_vt1_unet_output_is_the_input_minus_twice_the_margin(levels, margin):
    net = VT1UNet(base_filters=2, levels=levels, norm="batch").eval()
    assert net.margin == margin
    size = net.valid_size(margin * 2 + 5)
    assert (size - margin * 2) > 0 and net.output_size(size) == size - 2 * margin
    with torch.no_grad():
        out = net(torch.zeros(1, 1, size, size + 2 ** (levels + 1), size))
    assert tuple(out.shape) == (
        1,
        3,
        size - 2 * margin,
        size + 2 ** (levels + 1) - 2 * margin,
        size - 2 * margin,
    )
    with pytest.raises(ValueError):
        net.output_size(size + 1) if levels > 1 else net.output_size(margin * 2)


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_padded_vt1_unet_returns_the_whole_input_and_loads_the_unpadded_weights(levels):
    """padding="same": no margin, sizes multiples of 2 ** (levels - 1), the output the input's
    size, and the same parameters as the reference network (a checkpoint loads into either)."""
    valid = VT1UNet(base_filters=2, levels=levels, norm="batch")
    net = VT1UNet(base_filters=2, levels=levels, norm="batch", padding="same").eval()
    assert net.margin == 0
    step = 2 ** (levels - 1)
    assert net.valid_size(35) == -(-35 // step) * step and net.valid_size(36) == 36
    net.load_state_dict(valid.state_dict())  # strict: same names and shapes
    with torch.no_grad():
        out = net(torch.zeros(1, 1, 36, 52, 36))
    assert tuple(out.shape) == (1, 3, 36, 52, 36)
    if levels > 1:
        with pytest.raises(ValueError):
            net.output_size(35)
    with pytest.raises(ValueError, match="padding"):
        VT1UNet(padding="reflect")


def test_padding_is_planned_from_whether_the_patch_holds_a_whole_scan():
    from brainmri.segment.training import _plan_padding

    options = {}  # a crop seen whole: padded, every voxel trains
    assert _plan_padding(options, [40, 56, 40], whole=True)[0] == [40, 56, 40]
    assert options["padding"] == "same"
    options = {}  # whole heads, label-centred patches: the reference network
    assert _plan_padding(options, [64, 64, 64], whole=False)[0] == [64, 64, 64]
    assert options["padding"] == "valid"
    options = {"padding": "valid", "levels": 3}  # a crop seen whole by the reference network: + 20 a side
    patch, reason = _plan_padding(options, [40, 56, 40], whole=True)
    assert patch == [80, 96, 80] and "margin (20 voxels a side)" in reason
    assert _plan_padding({"padding": "same"}, [64, 64, 64], whole=False)[0] == [64, 64, 64]


@pytest.mark.parametrize(
    "norm,kind", [("none", None), ("batch", torch.nn.BatchNorm3d), ("instance", torch.nn.InstanceNorm3d)]
)
def test_vt1_unet_norm_variants(norm, kind):
    net = VT1UNet(base_filters=4, levels=3, norm=norm)
    norms = [m for m in net.modules() if isinstance(m, (torch.nn.BatchNorm3d, torch.nn.InstanceNorm3d))]
    assert (
        (len(norms) == 0) if kind is None else (len(norms) == 10 and all(isinstance(m, kind) for m in norms))
    )
    widths = [m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv3d)][:6:2]
    assert widths == [4, 8, 16]
    assert math.isclose(net.margin, 20)
