"""``brainmri-classify predict --device gpu``: one usage error at parse time, exit 2, no traceback."""

from __future__ import annotations

import pytest

from brainmri.core.testing.devices import BAD_DEVICES, assert_predict_rejects_device


@pytest.mark.parametrize("device", BAD_DEVICES[:2])
def test_predict_rejects_a_misspelt_device_before_loading_anything(tmp_path, device):
    line = assert_predict_rejects_device("brainmri.classify", tmp_path, device, "-o", tmp_path / "p.csv")
    assert "auto, cpu, cuda or cuda:N" in line
    assert not (tmp_path / "p.csv").exists()
