"""Exact storage reorientation (axis permutation and flips; no interpolation)."""

from __future__ import annotations

import numpy as np

from .volume import Volume


def reorient(volume: Volume, axcodes: str) -> Volume:
    """The same image stored in another voxel order, e.g. ``"LIA"``; world geometry unchanged.

    Only permutes and flips the array, so voxel values are bit-identical; the affine is
    updated so every voxel keeps its world position.

    Args:
        volume: Input volume.
        axcodes: Three letters, one of L/R, one of A/P and one of S/I (nibabel convention).
    """
    import nibabel.orientations as nio

    transform, affine, _ = storage_frame(volume.affine, volume.shape, axcodes)
    data = nio.apply_orientation(volume.data, transform)
    return Volume(np.ascontiguousarray(data), affine, volume.path, None)


def storage_frame(affine, shape, axcodes: str = "RAS") -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """Where a grid's voxels go when stored in another voxel order (no data moved).

    Args:
        affine: The grid's voxel-to-world affine.
        shape: Its shape.
        axcodes: Target voxel order, e.g. ``"RAS"`` (the closest canonical order, as
            ``nibabel.as_closest_canonical``; an oblique grid stays oblique).

    Returns:
        ``(transform, affine, shape)``: nibabel's orientation transform, and the affine and shape
        of the same voxels in the target order.
    """
    import nibabel.orientations as nio

    current = nio.io_orientation(affine)
    transform = nio.ornt_transform(current, nio.axcodes2ornt(tuple(axcodes.upper())))
    new_affine = np.asarray(affine) @ nio.inv_ornt_aff(transform, shape)
    new_shape = [0, 0, 0]
    for axis, (target, _) in enumerate(transform):
        new_shape[int(target)] = int(shape[axis])
    return transform, new_affine, tuple(new_shape)
