"""Pooled out-of-fold metrics with 95% bootstrap CIs, and the trivial baselines beside them."""

from __future__ import annotations

import numpy as np


def _col(rows: list[dict], key: str) -> np.ndarray:
    return np.array([float(r[key]) if r.get(key) not in (None, "", "inf") else
                     (np.inf if r.get(key) == "inf" else np.nan) for r in rows], dtype=np.float64)


def pooled_metrics(spec: dict, rows: list[dict], n_boot: int = 2000) -> dict:
    """Metrics of every held-out subject's prediction (each subject predicted by one fold).

    Classification: balanced accuracy, accuracy, ROC-AUC; baseline: the majority class
    (balanced accuracy 0.5). Regression: MAE, Pearson r; baseline: predicting the mean age of
    the other subjects. Segmentation: mean Dice and HD95 per class over subjects.
    """
    from brainmri.core.metrics import classification_metrics, regression_metrics, with_ci

    if not rows:
        return {"n": 0}
    if spec["kind"] == "classify":
        y, prob = _col(rows, "target").astype(int), _col(rows, "prob_female")
        out = classification_metrics(y, prob, n_boot=n_boot)
        out["baseline"] = {"balanced_accuracy": 0.5, "accuracy": out["majority_accuracy"], "roc_auc": 0.5}
        return out
    if spec["kind"] == "regress":
        y, pred = _col(rows, "target"), _col(rows, "pred_age")
        out = regression_metrics(y, pred, n_boot=n_boot)
        loo_mean = (y.sum() - y) / max(len(y) - 1, 1)
        out["baseline"] = {"mae": float(np.mean(np.abs(y - loo_mean)))}
        return out
    out = {"n": len(rows)}
    classes = spec["classes"]
    for name in classes:
        for metric in ("dice", "hd95"):
            values = _col(rows, f"{metric}_{name}")
            finite = values[np.isfinite(values)]
            out[f"{metric}_{name}"] = with_ci(np.mean, finite, n_boot=n_boot) if finite.size else None
            if metric == "hd95":
                out[f"{metric}_{name}_n_inf"] = int(np.isinf(values).sum())
    out["baseline"] = {}
    return out
