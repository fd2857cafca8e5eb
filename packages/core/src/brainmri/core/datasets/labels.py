"""Reading a subject's label map, checked against its scan's grid."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..io import load_volume
from ..volume import Volume
from .subject import Subject

#: Affine entries (mm) within which a label's grid counts as its scan's grid.
GRID_ATOL = 1e-3


def _header_grid(path: Path) -> tuple[tuple[int, ...], np.ndarray]:
    import nibabel as nib

    try:
        img = nib.load(str(path))
    except Exception as exc:
        raise DatasetError(path, f"not a readable image ({type(exc).__name__}: {exc})") from None
    shape = tuple(int(s) for s in img.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    return shape, np.asarray(img.affine, dtype=np.float64)


def _same_grid(a: Volume, shape, affine) -> bool:
    return a.shape == tuple(shape) and np.allclose(a.affine, affine, atol=GRID_ATOL)


def _check_against_image(label: Volume, subject: Subject) -> None:
    shape, affine = _header_grid(Path(subject.image))
    if not _same_grid(label, shape, affine):
        raise DatasetError(
            label.path,
            f"grid {label.shape} (orientation {label.orientation}) does not match "
            f"its scan {subject.image} {shape}",
        )


def binarise(volume: Volume) -> np.ndarray:
    """Foreground of a two-valued mask as bool ``(X, Y, Z)``: voxels above the minimum.

    Handles masks stored with an offset (values like 26896.988 / 26897.988). Values are
    allowed a jitter of 1 % of the range around the two levels.

    Raises:
        DatasetError: NaN/Inf voxels, a constant (empty) mask, or more than two levels.
    """
    data = np.asarray(volume.data)
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        raise DatasetError(volume.path, "label contains NaN or Inf voxels")
    lo, hi = data.min(), data.max()
    if lo == hi:
        raise DatasetError(volume.path, f"label is empty (every voxel is {lo:g})")
    tol = 0.01 * float(hi - lo)
    middle = (data > lo + tol) & (data < hi - tol)
    if middle.any():
        levels = np.unique(data)
        shown = ", ".join(f"{v:g}" for v in levels[:5]) + (", ..." if levels.size > 5 else "")
        raise DatasetError(
            volume.path, f"expected a two-valued label, found {levels.size} distinct values ({shown})"
        )
    return data > lo + tol


def integer_labels(volume: Volume, allowed: set[int] | None = None) -> np.ndarray:
    """A label map as non-negative integers ``(X, Y, Z)`` (uint8 when they fit).

    Raises:
        DatasetError: Non-integer, negative or unexpected values (naming the file).
    """
    data = np.asarray(volume.data)
    if data.dtype.kind == "f":
        if not np.all(np.isfinite(data)):
            raise DatasetError(volume.path, "label contains NaN or Inf voxels")
        rounded = np.rint(data)
        if np.abs(data - rounded).max() > 1e-3:
            raise DatasetError(
                volume.path, "label has non-integer values (interpolated? expected class indices)"
            )
        data = rounded
    values = np.unique(data)
    if values.size and values.min() < 0:
        raise DatasetError(volume.path, f"label has negative values (min {values.min():g})")
    if allowed is not None:
        bad = sorted(set(int(v) for v in values) - set(allowed))
        if bad:
            raise DatasetError(
                volume.path, f"unexpected label values {bad}; the dataset defines {sorted(allowed)}"
            )
    dtype = np.uint8 if values.size == 0 or values.max() < 256 else np.int32
    return data.astype(dtype)


def load_labels(subject: Subject) -> Volume:
    """The subject's label map on its scan's grid, as integers.

    HarP (``label_parts = (left, right)``): both files binarised ("above the minimum") and
    merged into 0 background / 1 left / 2 right. A subject with ``extra["label_lookup"]`` (a
    :class:`~brainmri.core.datasets.lookup.LabelLookup` spec such as ``48=left,47=right``):
    its label file mapped through the lookup, sides checked in world coordinates. Other
    layouts (``label``): the file's own
    integer labels (MSD Task04: 1 anterior, 2 posterior), checked against the dataset's
    declared labels when ``extra["label_names"]`` is known.

    Returns:
        Volume ``(X, Y, Z)`` of uint8 labels with the label file's affine.

    Raises:
        DatasetError: No label, unreadable file, unexpected values, left and right
            overlapping, or a grid that differs from the other side's or the scan's.
    """
    if subject.label_parts:
        if len(subject.label_parts) != 2:
            raise DatasetError(
                subject.image, f"expected (left, right) label files, got {len(subject.label_parts)}"
            )
        left_path, right_path = map(Path, subject.label_parts)
        left = load_volume(left_path, check_values=False)
        right = load_volume(right_path, check_values=False)
        _check_against_image(left, subject)
        if not _same_grid(left, right.shape, right.affine):  # the left one is on the scan's grid: blame the right
            raise DatasetError(
                right_path,
                f"grid {right.shape} (orientation {right.orientation}) does not match the left label "
                f"{left_path} {left.shape} and its scan (shape or affine differ)",
            )
        lmask, rmask = binarise(left), binarise(right)
        overlap = int(np.count_nonzero(lmask & rmask))
        if overlap:
            raise DatasetError(
                left_path, f"left label overlaps the right label {right_path} in {overlap} voxels"
            )
        _warn_if_swapped(left, lmask, rmask, right_path)
        data = np.zeros(left.shape, dtype=np.uint8)
        data[lmask] = 1
        data[rmask] = 2
        return Volume(data, left.affine.copy(), str(left_path), left.header)
    if subject.label is None:
        raise DatasetError(subject.image, f"subject {subject.subject_id} has no label file")
    label = load_volume(subject.label, check_values=False)
    _check_against_image(label, subject)
    lookup = subject.extra.get("label_lookup")
    if lookup:  # an automatic segmentation (aseg, DLMUSE...) read through a lookup
        from .lookup import LabelLookup

        return LabelLookup.parse(lookup).apply(Volume(label.data, label.affine, str(subject.label), label.header))
    names = subject.extra.get("label_names") or None
    allowed = set(names) | {0} if names else None
    return Volume(integer_labels(label, allowed), label.affine.copy(), str(subject.label), label.header)


def _warn_if_swapped(grid: Volume, lmask: np.ndarray, rmask: np.ndarray, right_path) -> None:
    from ..geometry import mask_centroid_world

    lx = mask_centroid_world(lmask, grid.affine)[0]
    rx = mask_centroid_world(rmask, grid.affine)[0]
    if lx > rx:
        warnings.warn(
            f"{grid.path}: the left hippocampus label lies right of {right_path} in world "
            f"coordinates (x {lx:.1f} > {rx:.1f} mm); files or affine may be swapped",
            stacklevel=3,
        )
