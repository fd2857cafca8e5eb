"""Affine helpers: world-aligned target grids, centres and rigid/similarity matrices.

Conventions: affines map voxel indices ``(i, j, k, 1)`` to world RAS millimetres; a matrix
called ``dst_to_src`` maps voxel indices of a destination grid to voxel indices of a source.
"""

from __future__ import annotations

import numpy as np

from .volume import Volume


def as_triple(value, cast=int) -> tuple:
    """One value per axis: ``4`` or ``[4]`` -> ``(4, 4, 4)``; three values are kept.

    Args:
        value: A number or a sequence of one or three numbers.
        cast: Type of the result's values (``int``, ``float``).

    Raises:
        ValueError: A sequence of another length.
    """
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (cast(value),) * 3
    value = tuple(cast(v) for v in value)
    if len(value) == 1:
        return value * 3
    if len(value) != 3:
        raise ValueError(f"expected one or three values, got {value}")
    return value

#: How a target grid is centred on a world point. ``"geometric"``: the grid's true centre
#: ``(shape - 1) / 2`` lands on the point (the default). ``"half_shape"``: voxel position
#: ``shape / 2`` lands on it, as in the reference (VT1) project, whose point is the scan's
#: voxel position ``scan_shape / 2``.
CENTRE_CONVENTIONS = ("geometric", "half_shape")


def grid_centre_index(shape, convention: str = "geometric") -> np.ndarray:
    """Voxel position treated as the centre of a grid of ``shape``, ``(3,)``."""
    shape = np.asarray(shape, dtype=np.float64)
    if convention == "geometric":
        return (shape - 1.0) / 2.0
    if convention == "half_shape":
        return shape / 2.0
    raise ValueError(f"unknown centre convention {convention!r}; use one of {CENTRE_CONVENTIONS}")


def volume_centre_world(volume: Volume, convention: str = "geometric") -> np.ndarray:
    """World point (mm) at the centre of a volume's voxel grid, ``(3,)``."""
    idx = grid_centre_index(volume.shape, convention)
    return volume.affine[:3, :3] @ idx + volume.affine[:3, 3]


def mask_centroid_world(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """World centroid (mm) of the non-zero voxels of ``mask``, ``(3,)``."""
    idx = np.argwhere(np.asarray(mask) > 0)
    if idx.size == 0:
        raise ValueError("mask is empty")
    centre = idx.mean(axis=0)
    return affine[:3, :3] @ centre + affine[:3, 3]


def mask_box(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voxel indices of the first and last non-zero voxel of ``mask`` along each axis (inclusive).

    Raises:
        ValueError: The mask is empty.
    """
    idx = np.argwhere(np.asarray(mask) > 0)
    if idx.size == 0:
        raise ValueError("mask is empty")
    return idx.min(axis=0), idx.max(axis=0)


def mask_box_centre_world(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """World centre (mm) of the bounding box of the non-zero voxels of ``mask``, ``(3,)``.

    Unlike the centroid, it leaves equal room on both sides of the mask along every voxel axis
    (a brain's centroid lies up to ~8 mm from the middle of its extent)."""
    lo, hi = mask_box(mask)
    return affine[:3, :3] @ ((lo + hi) / 2.0) + affine[:3, 3]


def ras_grid_affine(spacing, shape, centre_world, convention: str = "geometric") -> np.ndarray:
    """Affine of a world-aligned (RAS voxel order) grid of ``shape`` centred on a world point.

    Args:
        spacing: Voxel size in mm, scalar or ``(3,)``.
        shape: Grid shape ``(X, Y, Z)``.
        centre_world: World point (mm) that the grid centre maps to.
        convention: See :data:`CENTRE_CONVENTIONS`.

    Returns:
        ``(4, 4)`` voxel-to-world affine with ``diag(spacing)`` rotation part.
    """
    spacing = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (3,))
    affine = np.eye(4)
    affine[:3, :3] = np.diag(spacing)
    affine[:3, 3] = np.asarray(centre_world, dtype=np.float64) - spacing * grid_centre_index(shape, convention)
    return affine


def covering_grid(volume: Volume, spacing) -> tuple[tuple[int, int, int], np.ndarray]:
    """Smallest world-aligned grid at ``spacing`` that covers every voxel centre of a volume.

    Returns:
        ``(shape, affine)`` of the grid (RAS voxel order, same centre as the volume).
    """
    spacing = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (3,))
    corners = np.array(np.meshgrid(*[[0, s - 1] for s in volume.shape], indexing="ij")).reshape(3, -1)
    world = volume.affine[:3, :3] @ corners + volume.affine[:3, 3:4]
    extent = world.max(axis=1) - world.min(axis=1)
    shape = tuple(int(np.floor(e / s + 1e-6)) + 1 for e, s in zip(extent, spacing, strict=False))
    centre = (world.max(axis=1) + world.min(axis=1)) / 2.0
    return shape, ras_grid_affine(spacing, shape, centre)


def rotation_matrix(degrees) -> np.ndarray:
    """Rotation ``(3, 3)`` from angles (degrees) about the world x, y and z axes, applied x then y then z."""
    ax, ay, az = np.deg2rad(np.broadcast_to(np.asarray(degrees, dtype=np.float64), (3,)))
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def similarity_about(centre_world, rotation_deg=0.0, scale=1.0, translation_mm=0.0) -> np.ndarray:
    """World-space ``(4, 4)`` map ``w -> c + R S (w - c) + t`` (rotation about ``c``, then shift).

    Used as the augmentation between the target grid and the scan: an output voxel at world
    point ``w`` samples the scan at the returned map applied to ``w``.
    """
    c = np.asarray(centre_world, dtype=np.float64)
    m = np.eye(4)
    m[:3, :3] = rotation_matrix(rotation_deg) @ np.diag(np.broadcast_to(np.asarray(scale, dtype=np.float64), (3,)))
    m[:3, 3] = c - m[:3, :3] @ c + np.broadcast_to(np.asarray(translation_mm, dtype=np.float64), (3,))
    return m


def flip_x_about(centre_world) -> np.ndarray:
    """World-space ``(4, 4)`` mirror of the left-right (x) axis through ``centre_world``."""
    m = np.eye(4)
    m[0, 0] = -1.0
    m[0, 3] = 2.0 * float(np.asarray(centre_world)[0])
    return m


def obliquity_deg(affine) -> float:
    """Largest angle (degrees) between a voxel axis and the world axis it is labelled with.

    ``orientation`` codes such as ``RAS`` name the *closest* world axes; a scan tilted by
    15 degrees has the same code as an axis-aligned one. This is the tilt the code hides
    (0 for any axis-aligned storage order: RAS, LIA, PIL...).

    Args:
        affine: ``(4, 4)`` voxel-to-world affine.
    """
    axes = np.asarray(affine, dtype=np.float64)[:3, :3]
    cosines = np.abs(axes) / np.linalg.norm(axes, axis=0, keepdims=True)
    return float(np.degrees(np.arccos(np.clip(cosines.max(axis=0), -1.0, 1.0))).max())
