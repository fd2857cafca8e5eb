"""The Volume: voxel data plus its voxel-to-world (RAS mm) affine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Volume:
    """A 3D scan in memory.

    Args:
        data: Voxel array of shape ``(X, Y, Z)`` in storage order.
        affine: ``(4, 4)`` matrix mapping voxel indices ``(i, j, k, 1)`` to world RAS millimetres.
        path: The file it came from, if any (used in error messages and outputs).
        header: The nibabel header of the source file, kept so outputs written in the same
            grid reproduce its geometry (qform/sform codes).
    """

    data: np.ndarray
    affine: np.ndarray
    path: str | None = None
    header: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.affine = np.asarray(self.affine, dtype=np.float64)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Spatial shape ``(X, Y, Z)``."""
        return tuple(int(s) for s in self.data.shape[:3])

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size in millimetres along each storage axis, ``(3,)``."""
        return np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0))

    @property
    def orientation(self) -> str:
        """Axis codes such as ``"RAS"`` or ``"LIA"`` (nibabel convention)."""
        import nibabel as nib

        return "".join(nib.aff2axcodes(self.affine))

    @property
    def center_world(self) -> np.ndarray:
        """World position (mm) of the geometric centre of the voxel grid, ``(3,)``."""
        centre = (np.asarray(self.shape, dtype=np.float64) - 1.0) / 2.0
        return self.affine[:3, :3] @ centre + self.affine[:3, 3]

    def with_data(self, data: np.ndarray) -> Volume:
        """A Volume on the same grid (affine, path, header) with other voxel values."""
        if tuple(data.shape[:3]) != self.shape:
            raise ValueError(f"shape {data.shape} does not match the grid {self.shape}")
        return Volume(data, self.affine.copy(), self.path, self.header)
