"""The tasks demo reads both calibration.json forms: a note in ``age_bias``, or ``age_bias: null``
with the fit kept aside (age-bias correction opt-in), which crashed the demo."""

from __future__ import annotations

import json

from brainmri.regress.demo import bias_notes


def test_notes_of_corrections_not_applied_in_either_form(tmp_path):
    aside = {"age_bias": None, "age_bias_fitted_not_applied": {"slope": 1.0, "note": "slope not above 0.1"}}
    inline = {"age_bias": {"slope": 1.0, "note": "identity used"}}
    applied = {"age_bias": {"slope": 0.8, "intercept": 9.0}}
    runs = {}
    for variant, data in (("full head", aside), ("brain only", inline), ("other", applied)):
        runs[variant] = tmp_path / variant.replace(" ", "_")
        runs[variant].mkdir()
        (runs[variant] / "calibration.json").write_text(json.dumps(data))
    assert bias_notes(runs) == {"full head": "slope not above 0.1", "brain only": "identity used"}
