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

    Returns:
        ``{"method": "linear", "slope", "intercept", "n"}``; with fewer than 3 subjects or a
        slope under :data:`MIN_SLOPE` the identity (slope 1, intercept 0) and a ``note``.
    """
    age = np.asarray(age, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    out = {"method": "linear", "slope": 1.0, "intercept": 0.0, "n": int(len(age))}
    if len(age) < 3 or np.ptp(age) == 0:
        out["note"] = "too few validation subjects to fit; identity used"
        return out
    slope, intercept = np.polyfit(age, predicted, 1)
    if slope < MIN_SLOPE:
        out["note"] = f"fitted slope {slope:.3g} below {MIN_SLOPE}; identity used"
        return out
    out.update(slope=float(slope), intercept=float(intercept))
    return out


def apply_bias(predicted, correction: dict | None) -> np.ndarray:
    """Corrected ages (identity when ``correction`` is None)."""
    predicted = np.asarray(predicted, dtype=np.float64)
    if not correction:
        return predicted
    return (predicted - float(correction["intercept"])) / float(correction["slope"])
