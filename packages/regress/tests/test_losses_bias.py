"""Soft-label loss and age-bias correction against hand computations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from brainmri.regress.bias import apply_bias, fit_bias
from brainmri.regress.losses import age_bins, expected_age, soft_label_loss, soft_labels


def test_bins_span_the_cohort_in_one_year_steps():
    centres = age_bins([23.4, 61.2, 44.0])
    assert np.allclose(np.diff(centres), 1.0)
    assert centres[0] - 0.5 <= 23.4 - 2 and centres[-1] + 0.5 >= 61.2 + 2


def test_soft_labels_are_the_gaussian_mass_of_each_bin():
    centres = torch.arange(20.5, 60.5, 1.0, dtype=torch.float64)
    labels = soft_labels(torch.tensor([35.3], dtype=torch.float64), centres, sigma=1.0)[0]
    edges = np.arange(20.0, 61.0, 1.0)
    mass = np.diff(stats.norm.cdf(edges, loc=35.3, scale=1.0))
    assert np.allclose(labels.numpy(), mass / mass.sum(), atol=1e-9)
    assert int(labels.argmax()) == 15  # the bin [35, 36)


def test_soft_label_loss_is_zero_at_the_target_and_grows_away_from_it():
    centres = torch.arange(20.5, 60.5, 1.0)
    age = torch.tensor([30.0, 50.0])
    target = soft_labels(age.double(), centres.double()).float()
    perfect = torch.log(target.clamp_min(1e-30))
    assert float(soft_label_loss(perfect, age, centres)) == pytest.approx(0.0, abs=1e-4)
    shifted = torch.log(soft_labels(age.double() + 5, centres.double()).float().clamp_min(1e-30))
    assert float(soft_label_loss(shifted, age, centres)) > 1.0
    assert expected_age(perfect, centres).numpy() == pytest.approx([30.0, 50.0], abs=0.05)


def test_bias_fit_recovers_a_known_regression_to_the_mean():
    rng = np.random.default_rng(0)
    age = rng.uniform(20, 80, 200)
    pred = 0.6 * age + 20 + rng.normal(0, 1, 200)
    fit = fit_bias(age, pred)
    assert fit["slope"] == pytest.approx(0.6, abs=0.02) and fit["intercept"] == pytest.approx(20, abs=1.0)
    corrected = apply_bias(pred, fit)
    assert abs(stats.pearsonr(corrected - age, age)[0]) < 0.1 < abs(stats.pearsonr(pred - age, age)[0])


def test_bias_fit_refuses_a_degenerate_slope():
    fit = fit_bias([20, 40, 60, 80], [50, 50.1, 49.9, 50])
    assert fit["slope"] == 1.0 and fit["intercept"] == 0.0 and "note" in fit


def test_bias_fit_of_a_model_that_predicts_one_age_is_the_identity():
    """A network that learned nothing predicts one age for all: the slope 0 must not be inverted
    (it made every corrected age NaN)."""
    age = [20.0, 35.0, 50.0, 65.0, 80.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's 0/0 warning reached the user as a stray line
        fit = fit_bias(age, [49.3] * 5)
    assert fit["slope"] == 1.0 and fit["intercept"] == 0.0 and "same age" in fit["note"]
    assert apply_bias([49.3, 49.3], fit).tolist() == [49.3, 49.3]


def test_bias_fit_is_applied_only_when_its_slope_is_known_well_enough():
    """The correction divides by the slope: a noisy slope from few subjects would scale errors up."""
    rng = np.random.default_rng(3)
    age = np.linspace(20, 80, 10)
    noisy = 0.25 * age + 37 + rng.normal(0, 8, 10)
    # The slope's 95% interval by hand: OLS standard error and Student's t with n - 2 = 8 dof.
    slope, intercept = np.polyfit(age, noisy, 1)
    resid = noisy - (slope * age + intercept)
    se = np.sqrt(resid @ resid / 8) / np.sqrt(((age - age.mean()) ** 2).sum())
    lower = slope - 2.306 * se  # t(0.975, 8) = 2.306
    assert lower < 0.1  # this data cannot pin the slope down
    fit = fit_bias(age, noisy)
    assert fit["slope"] == 1.0 and fit["intercept"] == 0.0 and "not reliably above" in fit["note"]
    assert fit["slope_ci95"][0] == pytest.approx(lower, abs=1e-3)
    assert fit["fitted"]["slope"] == pytest.approx(slope, rel=1e-6)
    precise = 0.5 * age + 24 + rng.normal(0, 1, 10)  # the same n, a well-determined slope
    fit = fit_bias(age, precise)
    assert "note" not in fit and fit["slope"] == pytest.approx(0.5, abs=0.05)


def test_explain_target_is_the_age_or_the_expected_age_over_the_bins():
    from brainmri.regress.task import AgeTask

    bins = [20.0, 30.0, 40.0]
    logits = torch.tensor([[0.0, 1.0, 2.0]], requires_grad=True)
    label, reduce = AgeTask().explain_target(logits, {"loss": "soft", "bins": bins})
    p = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    value = reduce(logits)
    assert "expected" in label and value.shape == (1,)
    assert float(value[0].detach()) == pytest.approx(float(p @ np.array(bins)), rel=1e-6)
    value.sum().backward()  # differentiable: Grad-CAM needs its gradient
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    label, reduce = AgeTask().explain_target(torch.tensor([[0.7]]), {"loss": "l1", "age_mean": 50.0, "age_std": 10.0})
    assert label == "age" and float(reduce(torch.tensor([[0.7], [0.2]]))[1]) == pytest.approx(0.2)
