"""Where a map is: the slices through its mass and its peak, robust to upsampling plateaus.

A Grad-CAM computed on a 4^3 layer and upsampled to the grid is flat from the outermost
coarse voxel centre to the grid's edge; ``argmax`` of such a map returns the first voxel of
the plateau (index 0: a montage at z=0 and a "peak" at the corner). The peak is therefore
taken on the layer's own grid and mapped to the centre of the input block it covers, and
montages cut through the planes holding the most positive attribution
(:func:`brainmri.core.plotting.focus_slices`).
"""

from __future__ import annotations

import numpy as np


def peak_voxel(grid_map: np.ndarray, layer_map: np.ndarray | None = None) -> np.ndarray:
    """Grid position (voxel coordinates, possibly fractional) of a map's maximum.

    Args:
        grid_map: ``(X, Y, Z)`` map on the input grid.
        layer_map: ``(x, y, z)`` map it was upsampled from (Grad-CAM), or None.

    Returns:
        ``(3,)`` float64: with ``layer_map``, the centre of the input block covered by its
        largest coarse voxel (``(n + 0.5) * X / x - 0.5``); else the grid map's argmax.
    """
    if layer_map is None:
        return np.array(np.unravel_index(int(np.argmax(grid_map)), grid_map.shape), dtype=np.float64)
    coarse = np.array(np.unravel_index(int(np.argmax(layer_map)), layer_map.shape), dtype=np.float64)
    scale = np.asarray(grid_map.shape, dtype=np.float64) / np.asarray(layer_map.shape, dtype=np.float64)
    return (coarse + 0.5) * scale - 0.5
