"""Post-processing of label maps: keep the largest connected component of each class."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .labels import HIPPOCAMPUS_CLASSES


def largest_component(mask: np.ndarray, connectivity: int = 3) -> np.ndarray:
    """The largest connected component of a boolean mask (empty stays empty).

    Args:
        mask: Boolean ``(X, Y, Z)``.
        connectivity: 1 (faces, 6 neighbours), 2 (edges, 18) or 3 (corners, 26).
    """
    from scipy.ndimage import find_objects, generate_binary_structure, label

    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return mask.copy()
    box = find_objects(mask.astype(np.uint8))[0]
    sub = mask[box]
    labelled, n = label(sub, structure=generate_binary_structure(3, connectivity))
    out = np.zeros_like(mask)
    if n == 1:
        out[box] = sub
        return out
    sizes = np.bincount(labelled.ravel())
    sizes[0] = 0
    out[box] = labelled == int(sizes.argmax())
    return out


def keep_largest_components(
    labels: np.ndarray, classes: Iterable[int] = tuple(HIPPOCAMPUS_CLASSES), connectivity: int = 3
) -> np.ndarray:
    """A label map where each class keeps only its largest component (the rest becomes 0).

    Args:
        labels: Integer ``(X, Y, Z)``.
        classes: Label values to clean (1 left, 2 right).
        connectivity: See :func:`largest_component`.

    Returns:
        A new array of the same dtype.
    """
    labels = np.asarray(labels)
    out = labels.copy()
    for value in classes:
        mask = labels == value
        out[mask & ~largest_component(mask, connectivity)] = 0
    return out
