"""Reading scans as :class:`Volume` and writing NIfTI files atomically, keeping geometry."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import ScanError
from .volume import Volume

#: Extensions read as scans (anything nibabel reads: NIfTI, MGH/MGZ, MINC).
SCAN_SUFFIXES = (".nii", ".nii.gz", ".mgz", ".mgh", ".mnc", ".img", ".hdr")

#: Refuse headers that claim more voxels than this before allocating anything.
MAX_VOXELS = 1024**3


def is_scan_path(path: str | os.PathLike) -> bool:
    """True when ``path`` has an extension brainmri reads as a scan."""
    name = Path(path).name.lower()
    return any(name.endswith(s) for s in SCAN_SUFFIXES) and not name.startswith(".")


def scan_stem(path: str | os.PathLike) -> str:
    """File name without its scan extension: ``sub-01_T1w.nii.gz`` -> ``sub-01_T1w``."""
    name = Path(path).name
    for suffix in sorted(SCAN_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


@contextlib.contextmanager
def _quiet_nibabel():
    """Silence nibabel's header-fixing chatter; brainmri reports problems itself."""
    import logging

    logger = logging.getLogger("nibabel.global")
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        yield
    finally:
        logger.setLevel(level)


def _open(path: Path):
    import nibabel as nib

    if not path.exists():
        raise ScanError(path, "file not found")
    if path.is_dir():
        if not any(f.is_file() and is_scan_path(f) for f in path.rglob("*")):
            raise ScanError(path, "is a folder with no scan files in it")
        raise ScanError(path, "is a folder, not a scan file")
    if not os.access(path, os.R_OK):
        raise ScanError(path, "permission denied")
    try:
        with _quiet_nibabel():
            return nib.load(str(path))
    except Exception as exc:  # nibabel raises many types for unreadable files
        raise ScanError(path, f"not a readable image ({type(exc).__name__}: {exc})") from None


def _raw_nifti_zooms(path: Path, img) -> tuple[float, ...] | None:
    """Voxel sizes as stored in a NIfTI header, before nibabel silently replaces zeros by 1."""
    import nibabel as nib
    from nibabel.openers import ImageOpener

    if not isinstance(img.header, nib.Nifti1Header):  # Nifti2Header derives from it
        return None
    try:
        with ImageOpener(str(path)) as fh:
            raw = type(img.header).from_fileobj(fh, check=False)
    except Exception:
        return None
    return tuple(float(z) for z in raw["pixdim"][1:4])


def _spatial_shape(path: Path, shape: tuple[int, ...]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) < 3:
        raise ScanError(path, f"is {len(shape)}D (shape {shape}); a 3D volume is required")
    if len(shape) > 3:
        raise ScanError(path, f"is 4D or more (shape {shape}); give one 3D volume")
    if min(shape) < 1:
        raise ScanError(path, f"has an empty dimension (shape {shape})")
    if int(np.prod(shape, dtype=np.int64)) > MAX_VOXELS:
        raise ScanError(path, f"header claims {shape} voxels, more than the {MAX_VOXELS} allowed")
    return shape  # type: ignore[return-value]


def check_affine(path, affine: np.ndarray) -> np.ndarray:
    """Validate a voxel-to-world affine: finite and invertible, else :class:`ScanError`."""
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        raise ScanError(path, "affine is not a finite 4x4 matrix")
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    if np.any(spacing < 1e-6):
        raise ScanError(path, f"zero voxel size in the affine (spacing {np.round(spacing, 6).tolist()})")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-9 * float(np.prod(spacing)):
        raise ScanError(path, "affine is singular (voxel axes are not independent)")
    return affine


def load_volume(path: str | os.PathLike, *, check_values: bool = True) -> Volume:
    """Read a scan file into a :class:`Volume`.

    Args:
        path: NIfTI (.nii, .nii.gz), MGH/MGZ or MINC file.
        check_values: Refuse NaN/Inf voxels and constant images.

    Returns:
        The Volume with data ``(X, Y, Z)`` in storage order (integer types kept; scaled
        data as float32) and the file's voxel-to-world affine.

    Raises:
        ScanError: One line naming the file and the problem.
    """
    path = Path(path)
    img = _open(path)
    shape = _spatial_shape(path, img.shape)
    header = img.header
    zooms = _raw_nifti_zooms(path, img) or (header.get_zooms()[:3] if hasattr(header, "get_zooms") else ())
    if len(zooms) == 3 and any(not z > 0 for z in zooms):
        raise ScanError(path, f"header voxel size {tuple(float(z) for z in zooms)} is zero or negative")
    affine = check_affine(path, img.affine)
    try:
        data = np.asanyarray(img.dataobj)
    except Exception as exc:
        raise ScanError(path, f"voxel data cannot be read ({type(exc).__name__}: {exc})") from None
    data = np.asarray(data).reshape(shape)
    if data.dtype == np.float64 or data.dtype.kind not in "fiub":
        data = data.astype(np.float32)
    if data.dtype == bool:
        data = data.astype(np.uint8)
    if check_values:
        if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
            bad = int(np.count_nonzero(~np.isfinite(data)))
            raise ScanError(path, f"contains {bad} NaN or Inf voxels")
        if data.size and data.min() == data.max():
            raise ScanError(path, f"is constant (every voxel is {data.flat[0]})")
    return Volume(data, affine, str(path), header)


def _header_for(like: Volume | None, data: np.ndarray, affine: np.ndarray):
    import nibabel as nib

    same_grid = (
        like is not None
        and tuple(data.shape[:3]) == like.shape
        and np.allclose(affine, like.affine, atol=1e-6)
    )
    if same_grid and isinstance(like.header, nib.Nifti1Header):
        hdr = like.header.copy()
        qform, qcode = hdr.get_qform(coded=True)
        sform, scode = hdr.get_sform(coded=True)
        hdr.set_data_shape(data.shape)
        hdr.set_data_dtype(data.dtype)
        hdr.set_slope_inter(1.0, 0.0) if data.dtype.kind == "f" else hdr.set_slope_inter(np.nan, np.nan)
        img = nib.Nifti1Image(data, None, header=hdr)
        # The same codes as the input, so FSLeyes/ITK-SNAP place both identically.
        img.set_qform(qform if int(qcode) else None, code=int(qcode))
        img.set_sform(sform if int(scode) else None, code=int(scode))
        if not np.allclose(img.affine, affine, atol=1e-4):
            img.set_sform(affine, code=int(scode) or 1)
        return img
    img = nib.Nifti1Image(data, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img


def save_volume(
    data: np.ndarray | Volume,
    path: str | os.PathLike,
    affine: np.ndarray | None = None,
    like: Volume | None = None,
) -> Path:
    """Write a 3D array as NIfTI, atomically.

    Args:
        data: Array ``(X, Y, Z)`` or a Volume (its affine and header are used).
        path: Output ``.nii`` or ``.nii.gz`` path.
        affine: Voxel-to-world affine; defaults to ``like.affine``.
        like: A Volume whose grid the data lives on. When shape and affine match, its NIfTI
            header is copied, so qform/sform codes and the exact geometry are preserved.

    Returns:
        The written path.
    """
    import nibabel as nib

    if isinstance(data, Volume):
        like = like or data
        affine = data.affine if affine is None else affine
        data = data.data
    if affine is None:
        if like is None:
            raise ValueError("save_volume needs an affine or a like= Volume")
        affine = like.affine
    data = np.asarray(data)
    if data.dtype == bool:
        data = data.astype(np.uint8)
    if data.dtype == np.float64:
        data = data.astype(np.float32)
    img = _header_for(like, data, np.asarray(affine, dtype=np.float64))
    path = Path(path)
    with atomic_path(path) as tmp:
        nib.save(img, str(tmp))
    return path
