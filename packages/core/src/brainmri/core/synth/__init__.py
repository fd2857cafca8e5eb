"""Synthetic head phantoms and dataset folders in the published layouts (for tests and demos)."""

from .anatomy import Anatomy
from .harp import write_harp
from .ixi import write_ixi
from .msd import write_msd
from .phantom import ORIENTATIONS, Phantom, grid_affine, make_phantom, phantom_anatomy
from .table import write_phantom_table

#: Layout name -> writer ``(root, subjects, seed, *, masks, quirks, overwrite, show_progress) -> manifest``.
WRITERS = {"ixi": write_ixi, "adni": write_harp, "msd": write_msd}

__all__ = [
    "ORIENTATIONS",
    "WRITERS",
    "Anatomy",
    "Phantom",
    "grid_affine",
    "make_phantom",
    "phantom_anatomy",
    "write_harp",
    "write_ixi",
    "write_msd",
    "write_phantom_table",
]
