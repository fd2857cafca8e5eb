"""The reference project's full-head sex model (real weights) explained on a real scan."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch

from brainmri.core.testing import real_scan, require_shared


def test_reference_sex_model_gradcam_on_a_real_scan(tmp_path):
    from brainmri.core.io import load_volume
    from brainmri.core.models import VT1Net
    from brainmri.core.pipeline import Pipeline, PipelineConfig
    from brainmri.explain.native import save_native_map
    from brainmri.explain.workflow import explain_volume

    state = torch.load(require_shared("vt1-checkpoints", "sex_full_head.pth"), map_location="cpu",
                       weights_only=True)
    model = VT1Net.from_state_dict(state).eval()
    scan_path = real_scan("chris_t1.nii.gz")
    volume = load_volume(scan_path)
    mask = load_volume(require_shared("data", "real", "reference", "chris_t1_hdbet_fast_mask.nii.gz"),
                       check_values=False)
    # The reference preprocessing with trilinear instead of cubic interpolation (the cubic
    # prefilter of a 256^3 scan is slow on CPU): the checkpoints' README gives p(female) 0.954
    # for it on this scan, so the predicted class is 1 (female).
    pipeline = Pipeline(PipelineConfig.preset("vt1", interpolation="linear"), "cpu")
    expl = explain_volume(model, pipeline, volume, mask)
    target = expl.attribution.target
    assert target.index == 1 and expl.attribution.layer == "instancenorm4"
    out = save_native_map(expl.native_map, tmp_path / "chris_t1_gradcam.nii.gz", like=volume)
    img, src = nib.load(str(out)), nib.load(str(scan_path))
    assert img.shape == src.shape and np.allclose(img.affine, src.affine)
    assert img.header.get_sform(coded=True)[1] == src.header.get_sform(coded=True)[1]
    f = expl.fractions
    assert f["inside_fraction"] + f["outside_fraction"] == pytest.approx(1.0)
    # The brain is a minority of the head's voxels (HD-BET: ~1.5 l of the 0.88 mm field of view).
    brain_ml = (np.asarray(mask.data) > 0).sum() * float(np.prod(volume.spacing)) / 1000
    assert 1300 < brain_ml < 1700 and 0.05 < f["brain_voxel_fraction"] < 0.5
    # The peak is inside the head, not in the air around it.
    peak = np.unravel_index(np.argmax(expl.native_map), volume.shape)
    assert volume.data[peak] > np.percentile(volume.data, 50)
