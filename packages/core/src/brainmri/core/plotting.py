"""Quick-look pictures: a brain mask over a scan (matplotlib, no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .volume import Volume


def overlay_png(volume: Volume, mask, path: str | os.PathLike, title: str | None = None) -> Path:
    """Save three orthogonal slices of a scan with a mask's outline and fill in colour.

    Both are shown in world orientation (exact reorientation to RAS, no interpolation): sagittal
    with anterior to the right, coronal and axial in neurological convention (the patient's left
    on the left of the picture), superior or anterior up. Slices go through the mask's centroid;
    voxel sizes set the aspect ratio. Uses matplotlib's Agg canvas: no display, no global backend
    change.

    Args:
        volume: The scan.
        mask: Mask on the scan's grid: a Volume or an array ``(X, Y, Z)``; non-zero is inside.
        path: Output ``.png`` (written atomically).
        title: Title; default: the scan's file name and the mask volume in cm3.

    Returns:
        The written path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .atomic import atomic_path
    from .orientation import reorient

    mask_data = np.asarray(getattr(mask, "data", mask)) > 0
    if mask_data.shape != volume.shape:
        raise ValueError(f"mask shape {mask_data.shape} does not match the scan {volume.shape}")
    image = reorient(volume, "RAS")
    inside = reorient(Volume(mask_data.astype(np.uint8), volume.affine), "RAS").data > 0
    data = np.asarray(image.data, dtype=np.float32)
    spacing = image.spacing
    if inside.any():
        centre = np.argwhere(inside).mean(axis=0).round().astype(int)
    else:
        centre = np.array(data.shape) // 2
    cm3 = float(mask_data.sum()) * abs(float(np.linalg.det(volume.affine[:3, :3]))) / 1000.0
    if title is None:
        name = Path(volume.path).name if volume.path else "scan"
        title = f"{name}: mask {cm3:.0f} cm3"
    lo, hi = np.percentile(data, [0.5, 99.5])
    views = [  # (name, 2D slice as (rows, cols) = (up, right), pixel height/width in mm)
        ("sagittal", lambda a: a[centre[0], :, :].T, spacing[2] / spacing[1]),
        ("coronal", lambda a: a[:, centre[1], :].T, spacing[2] / spacing[0]),
        ("axial", lambda a: a[:, :, centre[2]].T, spacing[1] / spacing[0]),
    ]
    fig = Figure(figsize=(12, 4.6), dpi=100)
    FigureCanvasAgg(fig)
    for k, (name, cut, aspect) in enumerate(views):
        ax = fig.add_subplot(1, 3, k + 1)
        ax.imshow(cut(data), cmap="gray", vmin=lo, vmax=hi, origin="lower", aspect=aspect,
                  interpolation="nearest")
        sl = cut(inside)
        if sl.any():
            ax.imshow(np.ma.masked_where(~sl, sl), cmap="autumn", alpha=0.25, origin="lower", aspect=aspect,
                      interpolation="nearest")
            ax.contour(sl.astype(float), levels=[0.5], colors="red", linewidths=0.8, origin="lower")
        ax.set_title(name)
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
