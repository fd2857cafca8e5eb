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

    current = nio.io_orientation(volume.affine)
    target = nio.axcodes2ornt(tuple(axcodes.upper()))
    transform = nio.ornt_transform(current, target)
    data = nio.apply_orientation(volume.data, transform)
    affine = volume.affine @ nio.inv_ornt_aff(transform, volume.shape)
    return Volume(np.ascontiguousarray(data), affine, volume.path, None)
