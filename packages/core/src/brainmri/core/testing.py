"""Helpers shared by the test suites of every brainmri package (and the benchmarks).

Tests import these instead of copying them: where the real scans live, tiny synthetic
volumes, and NIfTI writers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .volume import Volume

_SKIP_REASON = (
    "needs ../shared (real scans and reference checkpoints) beside the repository; "
    "set BRAINMRI_SHARED to its path. CI always has it."
)


def shared_path() -> Path | None:
    """The project's shared folder (``../shared`` beside the repo, or ``$BRAINMRI_SHARED``)."""
    env = os.environ.get("BRAINMRI_SHARED")
    if env:
        return Path(env) if Path(env).is_dir() else None
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "packages" / "core").is_dir():
            candidate = parent.parent / "shared"
            return candidate if candidate.is_dir() else None
    candidate = Path.cwd().parent / "shared"
    return candidate if candidate.is_dir() else None


def require_shared(*relative: str) -> Path:
    """Path inside the shared folder; skips the calling test with a clear reason if absent."""
    import pytest

    root = shared_path()
    if root is None:
        pytest.skip(_SKIP_REASON)
    path = root.joinpath(*relative)
    if not path.exists():
        pytest.skip(f"{path} not found; {_SKIP_REASON}")
    return path


def real_scan(name: str = "chris_t1.nii.gz") -> Path:
    """A real scan from ``shared/data/real`` (skips the test where it is absent)."""
    return require_shared("data", "real", name)


def blob_volume(shape=(32, 36, 30), spacing=(1.5, 1.5, 1.5), seed: int = 0) -> Volume:
    """A smooth random positive volume on a RAS grid centred near the world origin."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    data = gaussian_filter(rng.normal(size=shape), 2.0)
    data = (data - data.min()).astype(np.float32)
    affine = np.diag([*np.broadcast_to(spacing, (3,)), 1.0]).astype(np.float64)
    affine[:3, 3] = -affine[:3, :3] @ ((np.asarray(shape) - 1) / 2.0)
    return Volume(data, affine)


def write_nifti(path: str | os.PathLike, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Write ``data`` as NIfTI with ``affine`` (identity by default), for test fixtures."""
    import nibabel as nib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data), np.eye(4) if affine is None else affine), str(path))
    return path
