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

    Drawn by :func:`brainmri.core.plotting.orthoview`: RAS order (exact reorientation, no
    resampling), neurological convention (the patient's left on the left of coronal and axial
    views, where the letter L is). Predicted left (1) and right (2) are outlined in red and
    blue, the reference (any label) in yellow.

    Args:
        image: The scan.
        labels: Predicted labels on the scan's grid.
        path: PNG to write (atomically).
        truth: Reference labels on the same grid, or None.
        title: Figure title.
    """
    from brainmri.core.plotting import Layer, orthoview, ras_view, save_figure

    ras, arrays = ras_view(image, labels, *(() if truth is None else (truth,)))
    pred, ref = arrays[0], (arrays[1] if truth is not None else None)
    focus = pred > 0 if (pred > 0).any() else (ref > 0 if ref is not None and (ref > 0).any() else None)
    centre = np.argwhere(focus).mean(axis=0).round().astype(int) if focus is not None else None
    layers = [] if ref is None else [Layer(ref > 0, "contour", colour=COLOURS["truth"])]
    layers += [Layer(pred == value, "contour", colour=COLOURS[side]) for value, side in HIPPOCAMPUS_CLASSES.items()]
    legend = "red: predicted left, blue: predicted right" + (", yellow: reference" if ref is not None else "")
    fig = orthoview(ras.data, ras.spacing, centre, layers, f"{title}\n{legend}" if title else legend, (13.0, 4.8))
    return save_figure(fig, path)
