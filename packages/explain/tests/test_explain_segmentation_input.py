"""Explaining a segmenter explains the input ``segment predict`` feeds it, on a real LIA scan.

``segment predict`` puts the whole scan on a world-aligned grid covering it (plus the network's
margin), normalised over the scan, and slides windows over it. Grad-CAM must attribute that
same tensor, not a pipeline patch cut at the scan centre and normalised over the patch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from brainmri.core.io import load_volume
from brainmri.core.testing import real_scan

pytest.importorskip("brainmri.segment", reason="explaining a segmenter needs brainmri-segment")

pytestmark = pytest.mark.slow  # segment predict and Grad-CAM of a whole head

MODEL = {"arch": "vt1-unet", "out_features": 3, "options": {"base_filters": 4, "levels": 2, "norm": "batch"}}


@pytest.fixture(scope="module")
def segmentation_run(tmp_path_factory):
    """A run folder of an untrained 4 mm VT1 U-Net (weights do not matter for what it is fed)."""
    from brainmri.core.pipeline import PipelineConfig
    from brainmri.core.tasks import get_task
    from brainmri.core.training.checkpoints import save_checkpoint
    from brainmri.core.training.rundir import RunDir

    task = get_task("hippocampus")
    torch.manual_seed(0)
    model = task.build_model(MODEL)
    run = RunDir(tmp_path_factory.mktemp("segment_run") / "run")
    run.write_config(
        {
            "task": "hippocampus",
            "arch": "vt1-unet",
            "model": MODEL,
            "pipeline": PipelineConfig(spacing=4.0, shape=32).to_dict(),
            "task_config": task.prepare({"dataset": "adni", "patch_size": 32, "tta": "none"}, []),
        }
    )
    save_checkpoint({"model": model.state_dict()}, run.best_checkpoint)
    return run.path, type(model)


class _Inputs:
    """Every input a module of class ``cls`` receives while active (a global forward pre-hook)."""

    def __init__(self, cls):
        self.cls, self.seen = cls, []

    def __enter__(self):
        def hook(module, args):
            if type(module) is self.cls:
                self.seen.append(args[0].detach().float().cpu().clone())

        self.handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def test_gradcam_feeds_a_segmenter_what_segment_predict_feeds_it(segmentation_run, tmp_path):
    from brainmri.explain.quality import EmptyMapError
    from brainmri.explain.workflow import open_run
    from brainmri.segment.cli import main as segment

    run, cls = segmentation_run
    scan = real_scan("t1_lia.nii.gz")
    with _Inputs(cls) as predicted:
        result = CliRunner().invoke(segment, ["predict", str(run), str(scan), "-o", str(tmp_path), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    with _Inputs(cls) as explained:
        try:
            explanation = open_run(run, "cpu").explain(load_volume(scan))
        except EmptyMapError:  # this untrained network may have no positive evidence: refused, as it must be
            explanation = None

    assert len(predicted.seen) == 1  # one window covers the 4 mm grid of this head
    window, given = predicted.seen[0], explained.seen[-1]  # the attribution pass (a zero probe may precede it)
    assert all(torch.equal(x, given) for x in explained.seen if x.any())
    # the whole head at 4 mm (256 mm / 4 = 64 voxels) plus the network's margin, not a 32^3 patch
    assert min(given.shape[2:]) > 64
    # predict's window is that tensor, zero-padded (half before, rest after) up to the window size
    pad = [(w - g) // 2 for w, g in zip(window.shape[2:], given.shape[2:])]
    inner = window[(..., *(slice(p, p + g) for p, g in zip(pad, given.shape[2:])))]
    assert torch.equal(inner, given)
    padding = window.clone()
    padding[(..., *(slice(p, p + g) for p, g in zip(pad, given.shape[2:])))] = 0
    assert not padding.any()

    if explanation is not None:
        native = explanation.native_map
        assert native.shape == (256, 256, 256) and np.isfinite(native).all()  # back on the scan's own grid
