"""Synthetic head scans: the world-space anatomy sampled on a subject's own voxel grid."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..volume import Volume
from .anatomy import Anatomy, paint_anatomy
from .painter import Painter

#: Physical field of view (mm, along world x, y, z) of a synthetic head scan.
FOV_MM = (190.0, 240.0, 210.0)

#: Range (mm) of the random voxel size along each storage axis.
SPACING_RANGE = (1.9, 2.5)

#: Every storage order (48 axis codes: permutations and flips).
ORIENTATIONS = tuple(
    "".join(("RL", "AP", "SI")[axis][flip] for axis, flip in zip(perm, flips))
    for perm in itertools.permutations(range(3))
    for flips in itertools.product((0, 1), repeat=3)
)

_AXIS = {"R": (0, 1.0), "L": (0, -1.0), "A": (1, 1.0), "P": (1, -1.0), "S": (2, 1.0), "I": (2, -1.0)}


@dataclass
class Phantom:
    """A synthetic scan and its ground truth, all on one grid.

    Attributes:
        image: T1-like int16 intensities ``(X, Y, Z)``.
        brain_mask: uint8 brain mask (1 inside the brain, cerebellum and brainstem).
        hippocampus: uint8 labels, 0 background, 1 left, 2 right (left: world x < 0).
        params: Anatomy parameters, grid and intensity settings (JSON-ready).
    """

    image: Volume
    brain_mask: Volume
    hippocampus: Volume
    params: dict = field(default_factory=dict)


def grid_affine(orientation: str, spacing, fov_mm=FOV_MM, centre_world=(0.0, 0.0, 0.0)):
    """Shape and affine of a grid in storage order ``orientation`` covering ``fov_mm``.

    Args:
        orientation: Axis codes such as ``"LIA"`` (each storage axis' positive direction).
        spacing: Voxel size (mm) along each storage axis, scalar or ``(3,)``.
        fov_mm: Extent (mm) along world x, y, z.
        centre_world: World point at the grid's geometric centre.

    Returns:
        ``(shape, affine)``. Grids with the same per-world-axis voxel size and centre hold the
        same voxel centres whatever the storage order.
    """
    codes = orientation.upper()
    axes = [_AXIS[c] for c in codes] if len(codes) == 3 and all(c in _AXIS for c in codes) else None
    if axes is None or sorted(a for a, _ in axes) != [0, 1, 2]:
        raise ValueError(f"orientation must be three axis codes like 'RAS' or 'LIA', not {orientation!r}")
    spacing = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (3,))
    affine = np.eye(4)
    shape = []
    for n, ((axis, sign), step) in enumerate(zip(axes, spacing)):
        affine[:3, n] = 0.0
        affine[axis, n] = sign * step
        shape.append(max(1, int(round(float(fov_mm[axis]) / step))))
    centre_index = (np.asarray(shape, dtype=np.float64) - 1.0) / 2.0
    affine[:3, 3] = np.asarray(centre_world, dtype=np.float64) - affine[:3, :3] @ centre_index
    return tuple(shape), affine


def phantom_anatomy(sex: int, age: float, seed: int = 0) -> Anatomy:
    """The :class:`Anatomy` that :func:`make_phantom` builds for these arguments (to plan a
    grid around a structure before sampling, e.g. a crop around one hippocampus)."""
    return Anatomy.sample(int(sex), float(age), np.random.default_rng([int(seed), 0]))


def make_phantom(
    sex: int,
    age: float,
    seed: int = 0,
    spacing=None,
    orientation: str | None = None,
    *,
    grid: tuple | None = None,
    noise: bool = True,
    fov_mm=FOV_MM,
) -> Phantom:
    """A synthetic T1-like head scan whose anatomy depends on sex and age.

    The anatomy is built analytically in world space and sampled on the subject's grid, so a
    world point has the same anatomy whatever the storage order or voxel size; a smooth
    multiplicative bias field and (optionally) Rician noise are added.

    Args:
        sex: 0 male, 1 female.
        age: Years.
        seed: Individual variation, head pose, grid, bias and noise all follow from it.
        spacing: Voxel size (mm) per storage axis, scalar or ``(3,)``; default random in
            :data:`SPACING_RANGE`.
        orientation: Storage order such as ``"RAS"`` or ``"PIL"``; default random among
            :data:`ORIENTATIONS`.
        grid: ``(shape, affine)`` to sample on instead (e.g. a crop); overrides
            ``spacing``/``orientation``.
        noise: Add Rician noise (the only part that is not a function of world position).
        fov_mm: Field of view (mm, world x/y/z) of the default grid.

    Returns:
        The :class:`Phantom` (image int16, brain mask and hippocampus labels uint8).
    """
    grid_rng, look_rng, noise_rng = (np.random.default_rng([int(seed), k]) for k in range(1, 4))
    anatomy = phantom_anatomy(sex, age, seed)
    random_orientation = ORIENTATIONS[int(grid_rng.integers(len(ORIENTATIONS)))]
    random_spacing = grid_rng.uniform(*SPACING_RANGE, size=3)
    centre = grid_rng.uniform(-5.0, 5.0, size=3)
    if grid is not None:
        shape, affine = tuple(int(s) for s in grid[0]), np.asarray(grid[1], dtype=np.float64)
    else:
        shape, affine = grid_affine(
            orientation or random_orientation, random_spacing if spacing is None else spacing, fov_mm, centre
        )
    index_to_head = np.linalg.inv(anatomy.head_to_world) @ affine
    painter = Painter(shape, index_to_head, edge_mm=0.5 * float(np.sqrt((affine[:3, :3] ** 2).sum(0)).mean()))
    brain, labels = paint_anatomy(painter, anatomy)
    image = painter.image

    # texture and bias: smooth functions of head position (exact in world space)
    directions = look_rng.normal(size=(4, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    vectors = directions * (2 * np.pi / look_rng.uniform(9.0, 30.0, size=(4, 1)))
    image *= 1.0 + painter.waves(vectors, look_rng.uniform(0, 2 * np.pi, 4), np.full(4, 0.015))
    quad = look_rng.normal(scale=0.12 / 100.0**2, size=(3, 3))
    bias = painter.field((quad + quad.T) / 2, look_rng.normal(scale=0.1 / 100.0, size=3), 0.0)
    image *= np.exp(bias, out=bias)
    gain = float(look_rng.uniform(700.0, 1300.0))
    sigma = float(look_rng.uniform(0.015, 0.035))
    if noise:
        real = noise_rng.standard_normal(shape, dtype=np.float32)
        real *= sigma
        real += image
        imag = noise_rng.standard_normal(shape, dtype=np.float32)
        imag *= sigma
        image = np.hypot(real, imag, out=real)
    image *= gain
    data = np.clip(np.rint(image), 0, 32767).astype(np.int16)
    params = {
        "sex": int(sex),
        "age": float(age),
        "seed": int(seed),
        "anatomy": anatomy.to_dict(),
        "orientation": Volume(data, affine).orientation,
        "spacing": [round(float(v), 4) for v in np.sqrt((affine[:3, :3] ** 2).sum(0))],
        "shape": list(shape),
        "gain": gain,
        "noise_sigma": sigma if noise else 0.0,
        "hippocampus_world": {
            side: (anatomy.head_to_world[:3, :3] @ c + anatomy.head_to_world[:3, 3]).tolist()
            for side, (c, _, _) in anatomy.hippocampi().items()
        },
    }
    return Phantom(
        Volume(data, affine),
        Volume(brain.astype(np.uint8), affine.copy()),
        Volume(labels, affine.copy()),
        params,
    )
