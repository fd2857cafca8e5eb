"""QC calibration on real IXI-HH heads (2 mm, stored PSR): right masks pass, broken ones do not.

The masks shown to be right are independent of the code under test: the brain (every label > 0)
of the DLMUSE segmentations shipped with the scans. No network runs here.
"""

from __future__ import annotations

import pytest

from brainmri.core import load_volume
from brainmri.core.hdbet import check_mask
from brainmri.core.testing import require_shared
from brainmri.core.testing.brainmasks import brain_only, one_hemisphere

#: A handful of IXI-HH subjects (both sexes, a range of ages and head sizes).
SCANS = ("IXI013-HH-1212-T1", "IXI014-HH-1236-T1", "IXI150-HH-1550-T1", "IXI206-HH-1650-T1")


@pytest.fixture(scope="module", params=SCANS)
def head(request):
    scan = load_volume(require_shared("data", "ixi-hh", f"{request.param}.nii.gz"))
    labels = load_volume(
        require_shared("data", "ixi-hh", "labels", f"{request.param}_dlmuse.nii.gz"), check_values=False
    )
    assert scan.orientation == "PSR" and labels.shape == scan.shape
    return scan, labels.data > 0


def test_normal_adult_head_with_a_right_mask_is_not_flagged(head):
    scan, brain = head
    qc = check_mask(scan, brain)
    assert qc.ok, qc.flags
    assert 1000 < qc.brain_cm3 < 2000 and not qc.already_stripped


def test_half_brain_is_still_flagged(head):
    """HD-BET's failure on a brain-only template: one hemisphere."""
    scan, brain = head
    qc = check_mask(scan, one_hemisphere(brain, scan.affine))
    assert "asymmetry" in qc.flags and qc.lr_asymmetry > 0.9


def test_already_stripped_input_is_still_flagged(head):
    """The brain-only scan (everything outside a slightly larger mask set to 0), with a right or a wrong mask."""
    scan, brain = head
    stripped = brain_only(scan, brain, iterations=1)
    qc = check_mask(stripped, brain)
    assert qc.already_stripped and "already_stripped" in qc.flags
    assert check_mask(stripped, one_hemisphere(brain, scan.affine)).already_stripped
