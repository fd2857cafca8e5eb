"""``--device`` is checked when the command line is parsed: one error line, exit 2, no traceback."""

from __future__ import annotations

import pytest
import torch

from brainmri.core.devices import parse_device
from brainmri.core.errors import BrainmriError
from brainmri.core.testing import blob_volume
from brainmri.core.testing.devices import BAD_DEVICES, assert_device_rejected


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    from brainmri.core.io import save_volume

    return save_volume(blob_volume().data, tmp_path_factory.mktemp("scan") / "head.nii.gz", affine=blob_volume().affine)


@pytest.mark.parametrize("command", ["preprocess", "skullstrip"])
@pytest.mark.parametrize("device", BAD_DEVICES[:2])
def test_a_misspelt_device_is_one_usage_error(tmp_path, scan, command, device):
    line = assert_device_rejected("brainmri.core.cli", [command, scan, "-o", tmp_path / "out"], device)
    assert "auto, cpu, cuda or cuda:N" in line
    assert not (tmp_path / "out").exists()  # nothing ran


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("command", ["preprocess", "skullstrip"])
def test_cuda_without_cuda_is_one_usage_error(tmp_path, scan, command):
    line = assert_device_rejected("brainmri.core.cli", [command, scan, "-o", tmp_path / "out"], "cuda")
    assert "CUDA is not available" in line


@pytest.mark.parametrize("name", ["auto", "cpu", "CPU", " cuda ", "cuda:0", "cuda:12"])
def test_the_grammar_accepts_the_documented_names(name):
    if name.strip().lower().startswith("cuda") and not torch.cuda.is_available():
        with pytest.raises(BrainmriError, match="CUDA is not available"):
            parse_device(name)
        return
    if name == "cuda:12" and torch.cuda.device_count() <= 12:
        with pytest.raises(BrainmriError, match="CUDA devices|CUDA device "):
            parse_device(name)
        return
    assert parse_device(name) == name.strip().lower()


@pytest.mark.parametrize("name", [*BAD_DEVICES, "cuda:", "cuda:-1", "cpu:0", ""])
def test_other_names_are_rejected_in_one_line(name):
    if name == "":
        assert parse_device(name) == "auto"  # an empty value is the default
        return
    with pytest.raises(BrainmriError) as info:
        parse_device(name)
    assert "\n" not in str(info.value)
