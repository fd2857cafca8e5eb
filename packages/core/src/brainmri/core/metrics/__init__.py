"""Evaluation metrics with bootstrap confidence intervals (classification and regression)."""

from .bootstrap import bootstrap_ci, with_ci
from .classification import (
    accuracy,
    balanced_accuracy,
    classification_metrics,
    confusion_matrix,
    roc_auc,
    roc_curve,
)
from .regression import gap_age_corr, mae, pearson_r, r2, regression_metrics, rmse

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "bootstrap_ci",
    "classification_metrics",
    "confusion_matrix",
    "gap_age_corr",
    "mae",
    "pearson_r",
    "r2",
    "regression_metrics",
    "rmse",
    "roc_auc",
    "roc_curve",
    "with_ci",
]
