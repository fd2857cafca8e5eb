"""Binary classification metrics: accuracy, balanced accuracy, ROC-AUC, confusion matrix."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from .bootstrap import with_ci


def accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Fraction of correct labels."""
    return float(np.mean(np.asarray(y) == np.asarray(pred))) if len(y) else float("nan")


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean of the per-class recalls over the classes present in ``y``."""
    y, pred = np.asarray(y), np.asarray(pred)
    recalls = [np.mean(pred[y == c] == c) for c in np.unique(y)]
    return float(np.mean(recalls)) if recalls else float("nan")


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with midranks for ties); NaN with one class."""
    y = np.asarray(y).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(score, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates ``(fpr, tpr)`` over all thresholds, from (0, 0) to (1, 1)."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    thresholds = np.unique(score)[::-1]
    n_pos, n_neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    tpr = [0.0] + [float(np.sum(y & (score >= t)) / n_pos) for t in thresholds]
    fpr = [0.0] + [float(np.sum(~y & (score >= t)) / n_neg) for t in thresholds]
    return np.asarray(fpr), np.asarray(tpr)


def confusion_matrix(y: np.ndarray, pred: np.ndarray, n_classes: int = 2) -> list[list[int]]:
    """``matrix[true][predicted]`` counts."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    for t, p in zip(np.asarray(y, dtype=int), np.asarray(pred, dtype=int)):
        m[t, p] += 1
    return m.tolist()


def classification_metrics(y: np.ndarray, prob: np.ndarray, threshold: float = 0.5, n_boot: int = 1000,
                           seed: int = 0) -> dict:
    """All binary metrics with 95% bootstrap intervals.

    Args:
        y: True classes ``(N,)`` in {0, 1}.
        prob: Predicted probability of class 1 ``(N,)``.
        threshold: Probability at or above which class 1 is predicted.
        n_boot: Bootstrap resamples (0: no intervals).
        seed: Bootstrap seed.

    Returns:
        ``{"n", "accuracy", "balanced_accuracy", "roc_auc"`` (each ``{"value", "ci95"}``),
        ``"confusion_matrix"``, ``"majority_accuracy"}``.
    """
    y = np.asarray(y, dtype=int)
    prob = np.asarray(prob, dtype=np.float64)
    pred = (prob >= threshold).astype(int)
    majority = float(max(np.mean(y == 0), np.mean(y == 1))) if len(y) else float("nan")
    return {
        "n": int(len(y)),
        "accuracy": with_ci(lambda a, b: accuracy(a, b >= threshold), y, prob, n_boot=n_boot, seed=seed),
        "balanced_accuracy": with_ci(lambda a, b: balanced_accuracy(a, (b >= threshold).astype(int)), y, prob,
                                     n_boot=n_boot, seed=seed),
        "roc_auc": with_ci(roc_auc, y, prob, n_boot=n_boot, seed=seed),
        "confusion_matrix": confusion_matrix(y, pred),
        "majority_accuracy": majority,
    }
