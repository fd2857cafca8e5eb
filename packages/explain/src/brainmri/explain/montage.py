"""A PNG montage: axial, coronal and sagittal slices through a map's mass, over the user's scan."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from brainmri.core.volume import Volume


def save_montage(
    volume: Volume,
    native_map: np.ndarray,
    path: str | os.PathLike,
    title: str = "",
    centre=None,
) -> Path:
    """Write three orthogonal slices of a map over the scan it explains, with a colour bar.

    The map lives on the scan's own grid (the native map written beside it), so the picture's
    background is the user's scan as stored. Drawn by :func:`brainmri.core.plotting.orthoview`
    (neurological convention: the patient's left on the left of axial and coronal views;
    letters mark the sides; each plane's world coordinate in mm).

    Args:
        volume: The scan.
        native_map: ``(X, Y, Z)`` attribution on the scan's grid.
        path: Output ``.png``.
        title: Figure title.
        centre: World point ``(x, y, z)`` mm the slices cross; default the planes holding most
            of the map's positive values (:func:`brainmri.core.plotting.focus_slices`; the
            maximum of an upsampled map sits on a plateau that reaches the grid's edge).

    Returns:
        The written path.
    """
    from brainmri.core.plotting import Layer, save_orthoview

    native_map = np.nan_to_num(np.asarray(native_map, dtype=np.float32))
    if native_map.shape != volume.shape:
        raise ValueError(f"scan {volume.shape} and map {native_map.shape} differ")
    low, high = float(native_map.min()), float(native_map.max())
    top = float(np.abs(native_map).max()) or 1.0
    signed = low < 0 < high and abs(low) > 1e-3 * top
    cmap, vmin = ("RdBu_r", -top) if signed else ("inferno", 0.0)
    layer = Layer(native_map, "heat", cmap=cmap, vmin=vmin, vmax=top, alpha=0.55, threshold=0.2, label="attribution")
    return save_orthoview(volume, path, [layer], centre, title, (12.0, 4.4))
