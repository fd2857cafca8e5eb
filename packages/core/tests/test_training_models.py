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


def _graph_nodes(grad_fn) -> set[str]:
    seen, names, stack = set(), set(), [grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack += [n for n, _ in node.next_functions]
    return names


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_vt1_matches_its_functional_definition_and_trains_without_copying_views(norm):
    """VT1Net is conv -> norm -> ReLU -> 2x max pool four times, global mean, linear head (the
    reference's layers); its gradients are those of that definition written with torch's functional
    ops. InstanceNorm3d returns a view: an in-place ReLU on it made autograd copy every gradient
    back (CopySlices), 13% of a CPU step for the same values, so the graph must hold none."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = VT1Net(out_features=2, dropout=0.0, norm=norm).train()
    x = torch.randn(2, 1, 20, 24, 16)
    target = torch.tensor([0, 1])

    def reference(inp):
        for i in range(1, 5):
            conv, nrm = getattr(model, f"conv{i}"), getattr(model, f"{norm}norm{i}")
            h = F.conv3d(inp, conv.weight, conv.bias, padding=1)
            if norm == "instance":
                h = F.instance_norm(h, weight=nrm.weight, bias=nrm.bias, eps=nrm.eps)
            else:
                h = F.batch_norm(h, None, None, nrm.weight, nrm.bias, training=True, eps=nrm.eps)
            inp = F.max_pool3d(F.relu(h), 2)
        return F.linear(inp.mean(dim=(2, 3, 4)), model.fc.weight, model.fc.bias)

    out = model(x)
    assert "CopySlices" not in _graph_nodes(out.grad_fn)
    params = list(model.parameters())
    got = torch.autograd.grad(F.cross_entropy(out, target), params)
    want = torch.autograd.grad(F.cross_entropy(reference(x), target), params)
    torch.testing.assert_close(out, reference(x), rtol=1e-5, atol=1e-6)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)
