"""Overlay figures: a scan with predicted and reference hippocampus outlines (matplotlib)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from brainmri.core.volume import Volume

from .labels import HIPPOCAMPUS_CLASSES

#: Outline colours: prediction left/right, reference.
COLOURS = {"left": "tab:red", "right": "tab:blue", "truth": "yellow"}


def overlay_png(
    image: Volume,
    labels: np.ndarray,
    path: str | os.PathLike,
    truth: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Sagittal, coronal and axial slices through the hippocampi with label outlines.

    The scan is shown in RAS order (exact reorientation, no resampling) with the patient's
    left on the right of coronal and axial views (radiological convention is not used:
    x grows to the right of the image). Predicted left (1) and right (2) are outlined in red
    and blue, the reference (any label) in yellow.

    Args:
        image: The scan.
        labels: Predicted labels on the scan's grid.
        path: PNG to write (atomically).
        truth: Reference labels on the same grid, or None.
        title: Figure title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brainmri.core.atomic import atomic_path
    from brainmri.core.orientation import reorient

    ras = reorient(image, "RAS")
    pred = reorient(image.with_data(np.asarray(labels)), "RAS").data
    ref = None if truth is None else reorient(image.with_data(np.asarray(truth)), "RAS").data
    focus = pred > 0 if (pred > 0).any() else (ref > 0 if ref is not None and (ref > 0).any() else None)
    centre = (
        np.argwhere(focus).mean(axis=0).round().astype(int)
        if focus is not None
        else np.array(pred.shape) // 2
    )
    spacing = ras.spacing
    views = [("sagittal", 0, (1, 2)), ("coronal", 1, (0, 2)), ("axial", 2, (0, 1))]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8))
    for ax, (name, axis, (a, b)) in zip(axes, views):
        take = [slice(None)] * 3
        take[axis] = int(centre[axis])
        img = ras.data[tuple(take)].astype(np.float32)
        lo, hi = np.percentile(img, (1, 99.5))
        extent = (0, img.shape[0] * spacing[a], 0, img.shape[1] * spacing[b])
        ax.imshow(img.T, origin="lower", cmap="gray", vmin=lo, vmax=hi, extent=extent)
        xs = (np.arange(img.shape[0]) + 0.5) * spacing[a]
        ys = (np.arange(img.shape[1]) + 0.5) * spacing[b]
        if ref is not None and (ref[tuple(take)] > 0).any():
            ax.contour(
                xs, ys, (ref[tuple(take)] > 0).T.astype(float), [0.5], colors=COLOURS["truth"], linewidths=1.2
            )
        for value, side in HIPPOCAMPUS_CLASSES.items():
            mask = pred[tuple(take)] == value
            if mask.any():
                ax.contour(xs, ys, mask.T.astype(float), [0.5], colors=COLOURS[side], linewidths=1.0)
        ax.set_title(f"{name} {take[axis]}")
        ax.set_axis_off()
    legend = "red: predicted left, blue: predicted right" + (", yellow: reference" if ref is not None else "")
    fig.suptitle(f"{title}\n{legend}" if title else legend, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return path
