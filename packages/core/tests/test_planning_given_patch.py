"""A patch size given as one number (the segment demo's ``patch_size: 52``) means a cube."""

from __future__ import annotations

from brainmri.core.training.planning import Fingerprint, plan_patch


def test_one_number_is_a_cube_and_three_stay_as_given():
    fp = Fingerprint(10, (2.0, 2.0, 2.0), (90, 110, 90), (180.0, 220.0, 180.0))
    assert plan_patch(fp, "cpu", spacing=3.0, patch=52)["patch_size"] == [52, 52, 52]
    assert plan_patch(fp, "cpu", spacing=3.0, patch=(48, 56, 40))["patch_size"] == [48, 56, 40]
