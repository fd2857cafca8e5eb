"""Age-bias correction: the linear regression-to-the-mean fix of brain-age predictions.

Fitted on the validation split as ``predicted = slope * age + intercept`` and applied as
``corrected = (predicted - intercept) / slope`` (Cole et al.; needs no true age at
prediction time).
"""

from __future__ import annotations

import numpy as np

#: Slopes below this are not inverted (the model has not learned age; the fix would explode).
MIN_SLOPE = 0.1


def fit_bias(age, predicted) -> dict:
    """Fit the linear correction on true and predicted ages.

    The correction divides by the slope, so a slope known only roughly (few validation
    subjects) would scale errors up: it is applied only when the 95% lower confidence bound
    of the fitted slope is above :data:`MIN_SLOPE`.

    Returns:
        ``{"method": "linear", "slope", "intercept", "n", "slope_ci95"}``; with fewer than 3
        subjects or a slope not reliably above :data:`MIN_SLOPE` the identity (slope 1,
        intercept 0) and a ``note`` saying why (and the fitted values).
    """
    from scipy import stats

    age = np.asarray(age, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    out = {"method": "linear", "slope": 1.0, "intercept": 0.0, "n": int(len(age))}
    if len(age) < 3 or np.ptp(age) == 0:
        out["note"] = "too few validation subjects to fit; identity used"
        return out
    if np.ptp(predicted) == 0:  # no slope to invert (and scipy's fit would divide 0 by 0)
        out["note"] = "every validation prediction is the same age (the model has not learned age); identity used"
        return out
    fit = stats.linregress(age, predicted)
    half = float(stats.t.ppf(0.975, len(age) - 2) * fit.stderr)
    ci = [float(fit.slope) - half, float(fit.slope) + half]
    out["slope_ci95"] = ci
    if not ci[0] >= MIN_SLOPE:  # NaN (a fit without residual spread to judge it by) is not above either
        out["note"] = (f"fitted slope {fit.slope:.3g} (95% CI {ci[0]:.3g} to {ci[1]:.3g}, n={len(age)}) is not "
                       f"reliably above {MIN_SLOPE}; identity used")
        out["fitted"] = {"slope": float(fit.slope), "intercept": float(fit.intercept)}
        return out
    out.update(slope=float(fit.slope), intercept=float(fit.intercept))
    return out


def apply_bias(predicted, correction: dict | None) -> np.ndarray:
    """Corrected ages (identity when ``correction`` is None)."""
    predicted = np.asarray(predicted, dtype=np.float64)
    if not correction:
        return predicted
    return (predicted - float(correction["intercept"])) / float(correction["slope"])
