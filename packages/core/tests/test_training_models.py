"""The three architectures, and the reference (VT1) checkpoints reproducing their README outputs."""

from __future__ import annotations

import re

import pytest
import torch

from brainmri.core.models import SFCN, VT1Net, build_model, count_parameters
from brainmri.core.testing import real_scan, require_shared

_MASK = ("data", "real", "reference", "chris_t1_hdbet_fast_mask.nii.gz")


def _readme_expected() -> dict[str, float]:
    """checkpoint name -> the README's "cubic (as trained)" value (p(female) or years)."""
    text = (require_shared("vt1-checkpoints") / "README.md").read_text()
    out = {}
    for name, value in re.findall(r"^\|\s*(\w+)\s*\|\s*(?:p\(female\)\s*)?([\d.]+)(?:\s*y)?\s*\|", text, re.M):
        out[name] = float(value)
    return out


@pytest.mark.parametrize("arch,out", [("vt1", 2), ("resnet3d", 1), ("sfcn", 40)])
def test_architectures_build_and_run(arch, out):
    model = build_model(arch, out)
    with torch.no_grad():
        y = model.eval()(torch.randn(2, 1, 32, 32, 32))
    assert y.shape == (2, out)


def test_sfcn_is_lightweight_as_published():
    # Peng et al. 2021: about 3 million parameters.
    assert 2.5e6 < count_parameters(SFCN(out_features=40)) < 3.5e6


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("vgg", 2)


def test_vt1_loads_strictly():
    state = torch.load(require_shared("vt1-checkpoints", "sex_full_head.pth"), map_location="cpu", weights_only=True)
    model = VT1Net.from_state_dict(state)
    assert set(model.state_dict()) == set(state)
    del state["conv2.bias"]
    with pytest.raises(RuntimeError, match="conv2.bias"):
        VT1Net.from_state_dict(state)


@pytest.fixture(scope="module")
def vt1_inputs():
    """chris_t1 through the vt1 preset: full head and brain only, at 2 mm/128^3 and 1 mm/256^3."""
    from brainmri.core import load_volume
    from brainmri.core.pipeline import Pipeline, PipelineConfig

    scan = load_volume(real_scan("chris_t1.nii.gz"))
    mask = load_volume(require_shared(*_MASK))
    cache = {}

    def get(brain: bool, one_mm: bool):
        key = (brain, one_mm)
        if key not in cache:
            grid = {"spacing": 1.0, "shape": 256} if one_mm else {}
            cfg = PipelineConfig.preset("vt1", apply_mask=brain, **grid)
            cache[key] = Pipeline(cfg, device="cpu").preprocess(scan, mask if brain else None).image.float()
        return cache[key]

    return get


@pytest.mark.parametrize("name", [
    "sex_full_head", "sex_brain_extracted", "age_full_head", "age_brain_extracted", "age_brain_extracted_extended",
    "age_brain_extracted_1mm", "age_brain_extracted_1mm_extended",
])
def test_reference_checkpoint_reproduces_readme(name, vt1_inputs):
    expected = _readme_expected()[name]
    state = torch.load(require_shared("vt1-checkpoints", f"{name}.pth"), map_location="cpu", weights_only=True)
    model = VT1Net.from_state_dict(state).eval()
    with torch.inference_mode():
        out = model(vt1_inputs("brain" in name, "1mm" in name))
    if name.startswith("sex"):
        assert torch.softmax(out, 1)[0, 1].item() == pytest.approx(expected, abs=0.02)
    else:
        assert out[0, 0].item() == pytest.approx(expected, abs=1.0)
