"""Percentile bootstrap confidence intervals over subjects."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays: np.ndarray,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(*arrays)``, resampling subjects with replacement.

    Args:
        statistic: Function of the arrays (all indexed by subject) returning a float.
        *arrays: Per-subject arrays of equal length.
        n_boot: Bootstrap resamples.
        alpha: 0.05 for a 95% interval.
        seed: Seed of the resampling.

    Returns:
        ``(low, high)``; NaN where the statistic is undefined on too many resamples (e.g. a
        resample with a single class for ROC-AUC is skipped).
    """
    n = len(arrays[0])
    if n == 0 or n_boot <= 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, size=n)
        v = statistic(*(a[idx] for a in arrays))
        if np.isfinite(v):
            values.append(v)
    if len(values) < max(10, n_boot // 10):
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


def with_ci(statistic: Callable[..., float], *arrays: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict:
    """``{"value": v, "ci95": [low, high]}`` for one statistic."""
    value = float(statistic(*arrays)) if len(arrays[0]) else float("nan")
    lo, hi = bootstrap_ci(statistic, *arrays, n_boot=n_boot, seed=seed)
    return {"value": value, "ci95": [lo, hi]}
