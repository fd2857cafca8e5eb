"""Regression (brain-age) metrics: MAE, RMSE, Pearson r, R2 and the brain-age-gap bias."""

from __future__ import annotations

import numpy as np

from .bootstrap import with_ci


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(y)))) if len(y) else float("nan")


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(y)) ** 2))) if len(y) else float("nan")


def pearson_r(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2:
        return float("nan")
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``."""
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    ss_tot = ((y - y.mean()) ** 2).sum() if len(y) else 0.0
    return float(1.0 - ((y - pred) ** 2).sum() / ss_tot) if ss_tot > 0 else float("nan")


def gap_age_corr(y: np.ndarray, pred: np.ndarray) -> float:
    """Correlation of the brain-age gap ``pred - age`` with age (the regression-to-the-mean bias)."""
    return pearson_r(np.asarray(pred) - np.asarray(y), y)


def regression_metrics(y: np.ndarray, pred: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict:
    """MAE, RMSE, Pearson r, R2 and corr(gap, age), each with a 95% bootstrap interval.

    Args:
        y: True ages ``(N,)``.
        pred: Predicted ages ``(N,)``.
        n_boot: Bootstrap resamples (0: no intervals).
        seed: Bootstrap seed.

    Returns:
        ``{"n", "mae", "rmse", "pearson_r", "r2", "gap_age_corr", "mean_predictor_mae"}``.
    """
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    out = {"n": int(len(y))}
    for name, fn in (("mae", mae), ("rmse", rmse), ("pearson_r", pearson_r), ("r2", r2),
                     ("gap_age_corr", gap_age_corr)):
        out[name] = with_ci(fn, y, pred, n_boot=n_boot, seed=seed)
    return out
