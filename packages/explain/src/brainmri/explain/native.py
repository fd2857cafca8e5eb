"""From a layer's map to the model's input grid, and from the grid to the scan's own grid."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from brainmri.core.io import save_volume
from brainmri.core.volume import Volume


def upsample_to_grid(layer_map: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Trilinear upsampling of a coarse map onto the model's input grid.

    A layer after ``n`` stride-2 steps has voxels that each cover ``2^n`` input voxels;
    interpolating with ``align_corners=False`` puts every coarse voxel's centre on the centre
    of the input block it covers.

    Args:
        layer_map: ``(B, C, x, y, z)`` map at the layer's resolution.
        shape: Input grid shape ``(X, Y, Z)``.

    Returns:
        ``(B, C, X, Y, Z)`` float32 map (the input unchanged, as float32, when shapes match).
    """
    layer_map = layer_map.float()
    if tuple(layer_map.shape[2:]) == tuple(shape):
        return layer_map
    return F.interpolate(layer_map, size=tuple(int(s) for s in shape), mode="trilinear", align_corners=False)


def map_to_native(grid_map: torch.Tensor, pipeline, batch) -> np.ndarray:
    """A map on the pipeline's grid resampled onto the scan's native grid (the pipeline's inverse).

    Args:
        grid_map: ``(1, 1, X, Y, Z)`` map on the grid of ``batch``.
        pipeline: The :class:`~brainmri.core.pipeline.Pipeline` that made ``batch``.
        batch: The :class:`~brainmri.core.pipeline.GridBatch` of the explained scan.

    Returns:
        ``(X, Y, Z)`` float32 array with exactly the native shape; native voxels the grid does
        not cover are 0.
    """
    native = pipeline.to_native(grid_map.detach().float(), batch, mode="linear")[0]
    return native[0].cpu().numpy().astype(np.float32, copy=False)


def save_native_map(native_map: np.ndarray, path: str | os.PathLike, like: Volume) -> Path:
    """Write a native-grid map as float32 NIfTI with the scan's exact shape and geometry.

    Args:
        native_map: ``(X, Y, Z)`` array on ``like``'s grid.
        path: Output ``.nii.gz``.
        like: The scan (its affine and header codes are reused, so viewers overlay both).

    Returns:
        The written path.
    """
    if tuple(native_map.shape) != tuple(like.shape):
        raise ValueError(f"map shape {native_map.shape} is not the scan's {like.shape}")
    return save_volume(np.asarray(native_map, dtype=np.float32), path, like=like)
