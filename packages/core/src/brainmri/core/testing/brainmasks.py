"""Brain-mask helpers for tests and benchmarks: reference masks, Dice, and broken cases for QC."""

from __future__ import annotations

import numpy as np


def hdbet_reference(name: str, kind: str = "fast") -> np.ndarray:
    """Boolean HD-BET reference mask of a real scan (``shared/data/real/reference``), made by the
    original HD-BET code; skips the test where it is absent.

    Args:
        name: Scan name without suffix (``chris_t1``, ``t1_lia``, ``chris_pd``).
        kind: ``fast`` or ``accurate_tta``.
    """
    from ..io import load_volume
    from . import require_shared

    path = require_shared("data", "real", "reference", f"{name}_hdbet_{kind}_mask.nii.gz")
    return load_volume(path, check_values=False).data > 0


def dice(a, b) -> float:
    """Dice overlap of two masks (non-zero is inside); 1.0 for two empty masks."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    total = np.count_nonzero(a) + np.count_nonzero(b)
    return float(2.0 * np.count_nonzero(a & b) / total) if total else 1.0


def brain_only(volume, mask, iterations: int = 2):
    """The scan as a skull-stripped (brain-only) file: 0 outside ``mask`` dilated ``iterations`` voxels."""
    from scipy.ndimage import binary_dilation

    keep = binary_dilation(np.asarray(mask, dtype=bool), iterations=iterations)
    return volume.with_data(np.where(keep, volume.data, 0).astype(volume.data.dtype))


def one_hemisphere(mask, affine) -> np.ndarray:
    """The mask without its voxels left of the median world x: what HD-BET returned on a brain-only template."""
    mask = np.asarray(mask, dtype=bool)
    idx = np.argwhere(mask)
    x = idx @ np.asarray(affine)[0, :3] + np.asarray(affine)[0, 3]
    half = mask.copy()
    half[tuple(idx[x < np.median(x)].T)] = False
    return half


def skullstrip_inputs(folder):
    """Write the three real inputs of the skullstrip batch tests into ``folder`` (created).

    ``a_ras`` (chris_pd as stored: oblique, closest RAS, 0.86 x 0.86 x 2.4 mm), ``b_lia`` (the same
    head stored LIA, bit-identical voxels) and ``c_stripped`` (a brain-only copy: 0 outside the
    HD-BET reference mask dilated by 2 voxels). Skips the test where the shared data is absent.
    """
    import shutil
    from pathlib import Path

    from ..io import load_volume, save_volume
    from ..orientation import reorient
    from . import real_scan

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    src = real_scan("chris_pd.nii.gz")
    shutil.copy(src, folder / "a_ras.nii.gz")
    vol = load_volume(src)
    save_volume(reorient(vol, "LIA"), folder / "b_lia.nii.gz")
    save_volume(brain_only(vol, hdbet_reference("chris_pd")), folder / "c_stripped.nii.gz")
    return folder
