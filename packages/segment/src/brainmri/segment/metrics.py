"""Overlap and surface metrics of label maps: Dice, HD95 in millimetres, volume difference.

Conventions (per class, e.g. left and right hippocampus):

- Surface voxels: voxels of the mask with at least one of their 6 face neighbours outside
  it (the array border counts as outside), i.e. ``mask XOR erosion(mask)``.
- HD95: symmetric: the 95th percentile (linear interpolation) of the distances (mm, using
  the voxel spacing) from each predicted surface voxel to the nearest true surface voxel,
  the same from true to predicted, and the larger of the two (as MONAI's
  ``HausdorffDistanceMetric(percentile=95)`` and DeepMind's surface-distance).
- Empty classes: both masks empty -> Dice 1.0, HD95 0.0 (perfect agreement); exactly one
  empty -> Dice 0.0, HD95 ``inf`` (no surface to measure to). :func:`summarise` averages
  HD95 over the finite values and reports how many were infinite (``hd95_n_inf``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .labels import HIPPOCAMPUS_CLASSES


def _bool(mask) -> np.ndarray:
    return np.asarray(mask).astype(bool, copy=False)


def dice(pred, true) -> float:
    """Dice overlap ``2 |P & T| / (|P| + |T|)`` of two boolean masks (1.0 when both are empty)."""
    p, t = _bool(pred), _bool(true)
    total = int(p.sum()) + int(t.sum())
    if total == 0:
        return 1.0
    return 2.0 * int(np.logical_and(p, t).sum()) / total


def surface_voxels(mask) -> np.ndarray:
    """Boolean ``(X, Y, Z)`` of the mask's surface voxels (6-neighbourhood, border is outside)."""
    from scipy.ndimage import binary_erosion

    m = _bool(mask)
    return m & ~binary_erosion(m, border_value=0)


def _crop_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both masks cropped to the bounding box of their union plus one voxel."""
    idx = np.argwhere(a | b)
    lo = np.maximum(idx.min(axis=0) - 1, 0)
    hi = np.minimum(idx.max(axis=0) + 2, a.shape)
    box = tuple(slice(int(s), int(e)) for s, e in zip(lo, hi))
    return a[box], b[box]


def surface_distances(pred, true, spacing=(1.0, 1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Distances (mm) from each predicted surface voxel to the true surface, and back.

    Args:
        pred, true: Boolean masks ``(X, Y, Z)`` on one grid, both non-empty.
        spacing: Voxel size (mm) along each axis.

    Returns:
        ``(pred_to_true, true_to_pred)`` 1D float64 arrays.
    """
    from scipy.ndimage import distance_transform_edt

    p, t = _crop_pair(_bool(pred), _bool(true))
    sp, st = surface_voxels(p), surface_voxels(t)
    spacing = tuple(float(s) for s in np.broadcast_to(np.asarray(spacing, dtype=np.float64), (p.ndim,)))
    to_true = distance_transform_edt(~st, sampling=spacing)
    to_pred = distance_transform_edt(~sp, sampling=spacing)
    return to_true[sp], to_pred[st]


def hausdorff(pred, true, spacing=(1.0, 1.0, 1.0), percentile: float = 95.0) -> float:
    """Symmetric percentile Hausdorff distance in mm (HD95 by default).

    Args:
        pred, true: Boolean masks on one grid.
        spacing: Voxel size (mm) per axis.
        percentile: 95 for HD95; 100 for the classic Hausdorff distance.

    Returns:
        Millimetres; 0.0 when both masks are empty, ``inf`` when exactly one is.
    """
    p, t = _bool(pred), _bool(true)
    p_any, t_any = bool(p.any()), bool(t.any())
    if not p_any and not t_any:
        return 0.0
    if p_any != t_any:
        return math.inf
    a, b = surface_distances(p, t, spacing)
    return float(max(np.percentile(a, percentile), np.percentile(b, percentile)))


def hd95(pred, true, spacing=(1.0, 1.0, 1.0)) -> float:
    """HD95 in mm (see :func:`hausdorff` and the module notes for empty masks)."""
    return hausdorff(pred, true, spacing, 95.0)


def voxel_volume(affine) -> float:
    """Volume of one voxel in mm^3 (``|det|`` of the affine's 3x3 part)."""
    return float(abs(np.linalg.det(np.asarray(affine, dtype=np.float64)[:3, :3])))


def spacing_of(affine) -> np.ndarray:
    """Voxel size (mm) along each storage axis of an affine, ``(3,)``."""
    return np.sqrt((np.asarray(affine, dtype=np.float64)[:3, :3] ** 2).sum(axis=0))


def label_volumes(labels, affine, classes: Mapping[int, str] = HIPPOCAMPUS_CLASSES) -> dict[str, float]:
    """``{"<name>_mm3": volume}`` of each class of a label map."""
    labels = np.asarray(labels)
    unit = voxel_volume(affine)
    return {f"{name}_mm3": float(np.count_nonzero(labels == value)) * unit for value, name in classes.items()}


def segmentation_metrics(pred, true, affine, classes: Mapping[int, str] = HIPPOCAMPUS_CLASSES) -> dict[str, float]:
    """Per-class Dice, HD95 (mm) and volumes of a predicted label map against the truth.

    Args:
        pred, true: Integer label maps ``(X, Y, Z)`` on the same grid.
        affine: The grid's ``(4, 4)`` affine (voxel spacing and volume come from it).
        classes: ``{label value: name}``, e.g. ``{1: "left", 2: "right"}``.

    Returns:
        For each class ``name``: ``dice_<name>``, ``hd95_<name>`` (mm),
        ``vol_pred_<name>``/``vol_true_<name>`` (mm^3), ``vol_diff_<name>`` (pred - true,
        mm^3) and ``vol_diff_pct_<name>`` (% of the true volume; NaN when it is 0); plus
        ``dice_mean`` and ``hd95_mean`` over the classes.
    """
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape:
        raise ValueError(f"prediction {pred.shape} and truth {true.shape} are not on one grid")
    spacing, unit = spacing_of(affine), voxel_volume(affine)
    out: dict[str, float] = {}
    for value, name in classes.items():
        p, t = pred == value, true == value
        vp, vt = float(p.sum()) * unit, float(t.sum()) * unit
        out[f"dice_{name}"] = dice(p, t)
        out[f"hd95_{name}"] = hd95(p, t, spacing)
        out[f"vol_pred_{name}"] = vp
        out[f"vol_true_{name}"] = vt
        out[f"vol_diff_{name}"] = vp - vt
        out[f"vol_diff_pct_{name}"] = 100.0 * (vp - vt) / vt if vt > 0 else math.nan
    names = list(classes.values())
    out["dice_mean"] = float(np.mean([out[f"dice_{n}"] for n in names]))
    out["hd95_mean"] = float(np.mean([out[f"hd95_{n}"] for n in names]))
    return out


def summarise(
    rows: Sequence[Mapping[str, float]], keys: Sequence[str] | None = None, n_boot: int = 1000, seed: int = 0
) -> dict[str, dict]:
    """Mean, sample standard deviation and 95% bootstrap interval of each metric over subjects.

    Non-finite values (HD95 ``inf`` for an empty side, NaN percentages) are left out of the
    mean, sd and interval and counted in ``n_inf`` / ``n_nan``.

    Args:
        rows: One dict of metrics per subject.
        keys: Metrics to summarise (default: the first row's numeric ones).
        n_boot: Bootstrap resamples of subjects for ``ci95`` (0: no interval).
        seed: Bootstrap seed.

    Returns:
        ``{metric: {"mean", "sd", "ci95", "n", "n_inf", "n_nan"}}``.
    """
    from brainmri.core.metrics import bootstrap_ci

    if not rows:
        return {}
    keys = list(keys) if keys is not None else [k for k, v in rows[0].items() if isinstance(v, (int, float))]
    out = {}
    for k in keys:
        values = np.array([float(r[k]) for r in rows if k in r and r[k] is not None], dtype=np.float64)
        finite = values[np.isfinite(values)]
        out[k] = {
            "mean": float(finite.mean()) if finite.size else math.nan,
            "sd": float(finite.std(ddof=1)) if finite.size > 1 else (0.0 if finite.size else math.nan),
            "ci95": list(bootstrap_ci(np.mean, finite, n_boot=n_boot, seed=seed)),
            "n": int(finite.size),
            "n_inf": int(np.isinf(values).sum()),
            "n_nan": int(np.isnan(values).sum()),
        }
    return out


def jsonable(value):
    """``value`` with non-finite floats made valid JSON: NaN -> None, +-inf -> ``"inf"``/``"-inf"``."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value
