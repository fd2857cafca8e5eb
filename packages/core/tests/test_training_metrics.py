"""Metrics and bootstrap intervals against independent computations (scipy, numpy, by hand)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from brainmri.core.metrics import (
    accuracy,
    balanced_accuracy,
    bootstrap_ci,
    classification_metrics,
    confusion_matrix,
    gap_age_corr,
    mae,
    pearson_r,
    r2,
    regression_metrics,
    rmse,
    roc_auc,
    roc_curve,
)


def test_roc_auc_matches_mann_whitney_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    score = np.round(rng.normal(size=200) + y, 1)  # rounding makes ties
    u = stats.mannwhitneyu(score[y == 1], score[y == 0]).statistic
    assert roc_auc(y, score) == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()))
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert np.isnan(roc_auc(np.ones(5), np.arange(5)))


def test_roc_curve_area_equals_auc():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 100)
    score = rng.normal(size=100) + y
    fpr, tpr = roc_curve(y, score)
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(y, score))


def test_class_metrics_by_hand():
    y = np.array([0, 0, 0, 0, 1, 1])
    pred = np.array([0, 0, 0, 1, 1, 0])
    assert accuracy(y, pred) == pytest.approx(4 / 6)
    assert balanced_accuracy(y, pred) == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert confusion_matrix(y, pred) == [[3, 1], [1, 1]]
    m = classification_metrics(y, np.array([0.1, 0.2, 0.3, 0.6, 0.9, 0.4]), n_boot=200)
    assert m["accuracy"]["value"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[3, 1], [1, 1]]
    assert m["majority_accuracy"] == pytest.approx(4 / 6)
    lo, hi = m["roc_auc"]["ci95"]
    assert lo <= m["roc_auc"]["value"] <= hi


def test_regression_metrics_match_scipy_and_numpy():
    rng = np.random.default_rng(2)
    age = rng.uniform(20, 80, 50)
    pred = age * 0.7 + 15 + rng.normal(0, 5, 50)
    assert mae(age, pred) == pytest.approx(np.mean(np.abs(pred - age)))
    assert rmse(age, pred) == pytest.approx(np.sqrt(np.mean((pred - age) ** 2)))
    assert pearson_r(age, pred) == pytest.approx(stats.pearsonr(age, pred)[0])
    assert r2(age, pred) == pytest.approx(1 - np.sum((age - pred) ** 2) / np.sum((age - age.mean()) ** 2))
    assert gap_age_corr(age, pred) == pytest.approx(stats.pearsonr(pred - age, age)[0])
    assert gap_age_corr(age, pred) < 0  # slope 0.7 < 1: the regression-to-the-mean bias
    m = regression_metrics(age, pred, n_boot=300)
    lo, hi = m["mae"]["ci95"]
    assert lo < m["mae"]["value"] < hi


def test_bootstrap_interval_of_a_mean_matches_theory():
    rng = np.random.default_rng(3)
    x = rng.normal(10.0, 2.0, 400)
    lo, hi = bootstrap_ci(np.mean, x, n_boot=2000, seed=0)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert lo == pytest.approx(x.mean() - half, abs=0.05)
    assert hi == pytest.approx(x.mean() + half, abs=0.05)
    assert bootstrap_ci(np.mean, x, n_boot=500, seed=4) == bootstrap_ci(np.mean, x, n_boot=500, seed=4)
