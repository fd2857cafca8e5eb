"""A PNG montage: axial, coronal and sagittal slices through a map's mass, over the scan."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def save_montage(
    image: np.ndarray,
    grid_map: np.ndarray,
    path: str | os.PathLike,
    spacing=(1.0, 1.0, 1.0),
    title: str = "",
    peak: tuple[int, int, int] | None = None,
) -> Path:
    """Write three orthogonal slices of a map over its image, with a colour bar.

    Both arrays live on the model's world-aligned (RAS) grid, drawn by
    :func:`brainmri.core.plotting.orthoview` (neurological convention: the patient's left on
    the left of axial and coronal views; letters mark the sides).

    Args:
        image: ``(X, Y, Z)`` image on the grid (the model's input).
        grid_map: ``(X, Y, Z)`` attribution on the same grid.
        path: Output ``.png``.
        spacing: Grid voxel size (mm), for the aspect ratio.
        title: Figure title.
        peak: Voxel the slices cross; default the planes holding most of the map's positive
            values (:func:`~brainmri.explain.peaks.mass_slices`; the maximum of an upsampled
            map sits on a plateau that reaches the grid's edge).

    Returns:
        The written path.
    """
    from brainmri.core.plotting import Layer, orthoview, save_figure

    from .peaks import mass_slices

    image = np.asarray(image, dtype=np.float32)
    grid_map = np.asarray(grid_map, dtype=np.float32)
    if image.shape != grid_map.shape:
        raise ValueError(f"image {image.shape} and map {grid_map.shape} differ")
    centre = peak if peak is not None else mass_slices(grid_map)
    signed = float(grid_map.min()) < 0 < float(grid_map.max()) and abs(float(grid_map.min())) > 1e-3 * float(
        np.abs(grid_map).max())
    top = float(np.abs(grid_map).max()) or 1.0
    cmap, vmin = ("RdBu_r", -top) if signed else ("inferno", 0.0)
    layer = Layer(grid_map, "heat", cmap=cmap, vmin=vmin, vmax=top, alpha=0.55, threshold=0.2, label="attribution")
    return save_figure(orthoview(image, spacing, centre, [layer], title, (12.0, 4.4)), path)
