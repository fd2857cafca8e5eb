"""One-interpolation sampling: the separable cubic path for axis-aligned grids against scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from brainmri.core import resample


def _axis_aligned(rng, out_shape, in_shape) -> np.ndarray:
    """A random ``dst voxel -> src voxel`` map: axes permuted and flipped, scaled, shifted past the edges."""
    m = np.zeros((4, 4))
    for src_axis, dst_axis in enumerate(rng.permutation(3)):
        scale = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.8)
        m[src_axis, dst_axis] = scale
        span = scale * (out_shape[dst_axis] - 1)
        # Offsets that put some output points up to 2 voxels beyond either end of the source.
        m[src_axis, 3] = rng.uniform(-2.0, in_shape[src_axis] + 1.0) - max(span, 0.0) / 2
    m[3, 3] = 1.0
    return m


def _scipy_reference(coeffs: np.ndarray, m: np.ndarray, out_shape) -> np.ndarray:
    """scipy's cubic B-spline of the same coefficients; 0 outside the source's extent (our rule)."""
    idx = np.indices(out_shape, dtype=np.float64).reshape(3, -1)
    src = m[:3, :3] @ idx + m[:3, 3:4]
    val = ndi.map_coordinates(coeffs, src, order=3, prefilter=False, mode="grid-constant", cval=0.0)
    hi = np.asarray(coeffs.shape, dtype=np.float64)[:, None] - 1
    inside = ((src >= -1e-3) & (src <= hi + 1e-3)).all(axis=0)
    return (val * inside).reshape(out_shape)


def test_axis_aligned_cubic_equals_scipy_at_every_point_edges_included():
    rng = np.random.default_rng(7)
    for _ in range(25):
        in_shape = tuple(int(s) for s in rng.integers(2, 11, 3))
        out_shape = tuple(int(s) for s in rng.integers(1, 13, 3))
        m = _axis_aligned(rng, out_shape, in_shape)
        coeffs = rng.normal(size=in_shape)
        got = resample.warp(torch.from_numpy(coeffs)[None, None], m, out_shape, "cubic", prefiltered=True)
        assert got.dtype == torch.float64 and tuple(got.shape) == (1, 1, *out_shape)
        np.testing.assert_allclose(got[0, 0].numpy(), _scipy_reference(coeffs, m, out_shape), atol=1e-12)


def test_axis_aligned_and_general_cubic_paths_agree(monkeypatch):
    """The same maps through the 64-tap sampler (taken for rotations) give the same values."""
    rng = np.random.default_rng(3)
    data = torch.from_numpy(rng.normal(size=(2, 3, 9, 1, 7)))  # batch, channels, a singleton axis
    matrices = [_axis_aligned(rng, (6, 5, 8), (9, 1, 7)) for _ in range(2)]
    fast = resample.warp(data, np.stack(matrices), (6, 5, 8), "cubic")
    monkeypatch.setattr(resample, "_axis_map", lambda *args: None)
    general = resample.warp(data, np.stack(matrices), (6, 5, 8), "cubic")
    torch.testing.assert_close(fast, general, atol=1e-12, rtol=0)


@pytest.mark.parametrize("degrees", [1e-3, 5.0])
def test_a_rotation_is_not_taken_for_an_axis_aligned_map(degrees):
    from brainmri.core.geometry import rotation_matrix

    m = np.eye(4)
    m[:3, :3] = rotation_matrix((degrees, 0.0, 0.0))
    assert resample._axis_map(torch.from_numpy(m), (64, 64, 64)) is None
    # Float residue of composing axis-aligned affines is not a rotation.
    m = np.diag([1.5, -1.5, 1.5, 1.0])
    m[0, 1] = 1e-16
    assert resample._axis_map(torch.from_numpy(m), (64, 64, 64)) == [(0, 1.5, 0.0), (1, -1.5, 0.0), (2, 1.5, 0.0)]
