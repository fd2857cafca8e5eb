"""The tasks demo reads both calibration.json forms: a note in ``age_bias``, or ``age_bias: null``
with the fit kept aside (age-bias correction opt-in), which crashed the demo."""

from __future__ import annotations

import json

from brainmri.core.training.demo import _bias_notes


def test_notes_of_corrections_not_applied_in_either_form(tmp_path):
    aside = {"age_bias": None, "age_bias_fitted_not_applied": {"slope": 1.0, "note": "slope not above 0.1"}}
    inline = {"age_bias": {"slope": 1.0, "note": "identity used"}}
    applied = {"age_bias": {"slope": 0.8, "intercept": 9.0}}
    for variant, data in (("full_head", aside), ("brain_only", inline), ("other", applied)):
        (tmp_path / f"age_{variant}").mkdir()
        (tmp_path / f"age_{variant}" / "calibration.json").write_text(json.dumps(data))
    notes = _bias_notes(tmp_path, "age", ["full head", "brain only", "other"])
    assert {k: v["note"] for k, v in notes.items()} == {"full head": "slope not above 0.1",
                                                        "brain only": "identity used"}
