"""``brainmri-segment predict --device gpu``: one usage error at parse time, exit 2, no traceback."""

from __future__ import annotations

import pytest

from brainmri.core.testing import blob_volume, write_nifti
from brainmri.core.testing.devices import BAD_DEVICES, assert_device_rejected


@pytest.mark.parametrize("device", BAD_DEVICES[:2])
def test_predict_rejects_a_misspelt_device_before_loading_anything(tmp_path, device):
    vol = blob_volume()
    scan = write_nifti(tmp_path / "head.nii.gz", vol.data, vol.affine)
    run = tmp_path / "run"  # an empty folder: the device error must come before the run is read
    run.mkdir()
    line = assert_device_rejected("brainmri.segment", ["predict", run, scan, "-o", tmp_path / "out"], device)
    assert "auto, cpu, cuda or cuda:N" in line
    assert not (tmp_path / "out").exists()
