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


def _paired(rows_a: list[dict], rows_b: list[dict]) -> tuple[list[dict], list[dict]]:
    """The rows of the subjects both variants predicted, in the same order."""
    def key(r, seen):
        k = (r.get("subject_id"), r.get("image") or r.get("path"))
        seen[k] = seen.get(k, -1) + 1
        return (*k, seen[k])

    seen_a, seen_b = {}, {}
    a = {key(r, seen_a): r for r in rows_a}
    b = {key(r, seen_b): r for r in rows_b}
    common = [k for k in a if k in b]
    return [a[k] for k in common], [b[k] for k in common]


def paired_difference(spec: dict, rows_a: list[dict], rows_b: list[dict], n_boot: int = 2000) -> dict:
    """Variant b minus variant a on the same held-out subjects, with a paired 95% bootstrap CI.

    Classification: balanced accuracy at p = 0.5; regression: MAE (negative: b is better);
    segmentation: mean Dice per class. Each resample draws subjects once for both variants.
    """
    from brainmri.core.metrics import with_ci

    rows_a, rows_b = _paired(rows_a, rows_b)
    if not rows_a:
        return {"n": 0}
    out: dict = {"n": len(rows_a)}
    if spec["kind"] == "classify":
        y = _col(rows_a, "target").astype(int)

        def balanced(y, p):
            hits = (p >= 0.5).astype(int) == y
            return float(np.mean([hits[y == c].mean() for c in np.unique(y)]))

        out["balanced_accuracy"] = with_ci(lambda y, pa, pb: balanced(y, pb) - balanced(y, pa), y,
                                           _col(rows_a, "prob_female"), _col(rows_b, "prob_female"), n_boot=n_boot)
    elif spec["kind"] == "regress":
        y = _col(rows_a, "target")
        out["mae"] = with_ci(lambda y, pa, pb: np.mean(np.abs(y - pb)) - np.mean(np.abs(y - pa)), y,
                             _col(rows_a, "pred_age"), _col(rows_b, "pred_age"), n_boot=n_boot)
    else:
        for name in spec["classes"]:
            da, db = _col(rows_a, f"dice_{name}"), _col(rows_b, f"dice_{name}")
            ok = np.isfinite(da) & np.isfinite(db)
            out[f"dice_{name}"] = with_ci(lambda a, b: np.mean(b - a), da[ok], db[ok], n_boot=n_boot)
    return out
