"""Overlay figures: a scan with predicted and reference hippocampus outlines (matplotlib)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from brainmri.core.volume import Volume

from .labels import HIPPOCAMPUS_CLASSES


def overlay_png(
    image: Volume,
    labels: np.ndarray,
    path: str | os.PathLike,
    truth: np.ndarray | None = None,
    title: str = "",
    classes: dict[int, str] | None = None,
) -> Path:
    """Axial, coronal and sagittal slices through the labels, outlined over the scan.

    Drawn by :func:`brainmri.core.plotting.orthoview`: RAS order (exact reorientation, no
    resampling), neurological convention (the patient's left on the left of coronal and axial
    views, where the letter L is), each plane's world coordinate in mm, slices through the
    labels. Colours from :data:`brainmri.core.plotting.PALETTE`: the first class (left) warm
    vermilion, the second (right) indigo blue, the reference (any label) dashed yellow; a
    legend names them.

    Args:
        image: The scan (the background).
        labels: Predicted labels on the scan's grid.
        path: PNG to write (atomically).
        truth: Reference labels on the same grid, or None.
        title: Figure title.
        classes: ``{label value: name}`` (default hippocampus: 1 left, 2 right).
    """
    from brainmri.core.plotting import PALETTE, Layer, save_orthoview

    classes = dict(HIPPOCAMPUS_CLASSES if classes is None else classes)
    labels = np.asarray(labels)
    colours = [PALETTE["left"], PALETTE["right"]]
    layers = []
    if truth is not None:
        layers.append(
            Layer(
                (np.asarray(truth) > 0).astype(np.uint8),
                "contour",
                colour=PALETTE["reference"],
                label="reference",
                linestyle="dashed",
            )
        )
    for n, (value, name) in enumerate(sorted(classes.items())):
        colour = PALETTE.get(name, colours[n % 2])
        layers.append(Layer((labels == value).astype(np.uint8), "contour", colour=colour, label=f"predicted {name}"))
    return save_orthoview(image, path, layers, title=title, figsize=(13.0, 5.0))
