"""A PNG montage: axial, coronal and sagittal slices through a map's peak, over the scan."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from brainmri.core.atomic import atomic_path


def peak_index(grid_map: np.ndarray) -> tuple[int, int, int]:
    """Voxel of the map's largest value ``(i, j, k)``."""
    return tuple(int(v) for v in np.unravel_index(int(np.argmax(grid_map)), grid_map.shape))


def save_montage(
    image: np.ndarray,
    grid_map: np.ndarray,
    path: str | os.PathLike,
    spacing=(1.0, 1.0, 1.0),
    title: str = "",
    peak: tuple[int, int, int] | None = None,
) -> Path:
    """Write three orthogonal slices of a map over its image, with a colour bar.

    Both arrays live on the model's world-aligned (RAS) grid, so the views are oriented the
    same for every scan: axial and coronal with the patient's right on the right
    (neurological), sagittal with anterior on the right; letters mark the sides.

    Args:
        image: ``(X, Y, Z)`` image on the grid (the model's input).
        grid_map: ``(X, Y, Z)`` attribution on the same grid.
        path: Output ``.png``.
        spacing: Grid voxel size (mm), for the aspect ratio.
        title: Figure title.
        peak: Voxel the slices cross; default the map's maximum.

    Returns:
        The written path.
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    image = np.asarray(image, dtype=np.float32)
    grid_map = np.asarray(grid_map, dtype=np.float32)
    if image.shape != grid_map.shape:
        raise ValueError(f"image {image.shape} and map {grid_map.shape} differ")
    i, j, k = peak if peak is not None else peak_index(grid_map)
    sx, sy, sz = (float(s) for s in np.broadcast_to(np.asarray(spacing, dtype=np.float64), (3,)))
    signed = float(grid_map.min()) < 0 < float(grid_map.max()) and abs(float(grid_map.min())) > 1e-3 * float(
        np.abs(grid_map).max())
    top = float(np.abs(grid_map).max()) or 1.0
    cmap, vmin = ("RdBu_r", -top) if signed else ("inferno", 0.0)
    lo, hi = np.percentile(image, [1, 99.5]) if image.size else (0.0, 1.0)
    views = [
        ("axial", image[:, :, k], grid_map[:, :, k], sy / sx, ("L", "R", "P", "A"), f"z={k}"),
        ("coronal", image[:, j, :], grid_map[:, j, :], sz / sx, ("L", "R", "I", "S"), f"y={j}"),
        ("sagittal", image[i, :, :], grid_map[i, :, :], sz / sy, ("P", "A", "I", "S"), f"x={i}"),
    ]
    fig = Figure(figsize=(12, 4.4), dpi=100)
    axes = fig.subplots(1, 3)
    shown = None
    for ax, (name, img, amap, aspect, (left, right, bottom, upper), where) in zip(axes, views):
        ax.imshow(img.T, origin="lower", cmap="gray", vmin=lo, vmax=hi, aspect=aspect,
                  interpolation="nearest")
        faint = np.abs(amap) < 0.2 * top
        shown = ax.imshow(np.ma.masked_where(faint, amap).T, origin="lower", cmap=cmap, vmin=vmin, vmax=top,
                          alpha=0.55, aspect=aspect, interpolation="nearest")
        ax.set_title(f"{name} ({where})", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        marks = ((0.01, 0.5, left, "left", "center"), (0.99, 0.5, right, "right", "center"),
                 (0.5, 0.01, bottom, "center", "bottom"), (0.5, 0.99, upper, "center", "top"))
        for x, y, text, ha, va in marks:
            ax.text(x, y, text, transform=ax.transAxes, color="yellow", fontsize=9, ha=ha, va=va)
    fig.colorbar(shown, ax=list(axes), fraction=0.025, pad=0.02, label="attribution")
    if title:
        fig.suptitle(title, fontsize=10)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
