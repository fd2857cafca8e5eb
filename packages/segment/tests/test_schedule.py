"""The planned training schedule: cross-validated values for crops and for heads, given ones kept.

The plan reads headers only, so these run in seconds on the shared real data.
"""

from __future__ import annotations

import pytest
import torch

from brainmri.core.testing import require_shared
from brainmri.core.testing.realdata import ixi_hh
from brainmri.core.training.trainer import TrainConfig, Trainer
from brainmri.segment.training import _plan

UNSET = dict.fromkeys(("epochs", "batch_size", "patches_per_scan", "lr", "patience", "val_every"))


def _msd_subjects():
    from brainmri.core.datasets import read_msd

    return read_msd(require_shared("data", "Task04_Hippocampus")).subjects


def test_decathlon_crops_get_the_crop_schedule_and_heads_the_head_schedule():
    crops = _plan(_msd_subjects(), "cpu", None, {}, {}, "vt1-unet", False, UNSET)
    # MSD crops are seen whole: padded network, 12 epochs of 2 crops a step, 2 patches each, lr 2e-3
    # (fold 1's inner validation: Dice 0.83 in 11 min; README accuracy table).
    assert crops["whole"] and crops["padding"] == "same"
    assert crops["schedule"] == {
        "epochs": 12,
        "batch_size": 2,
        "patches_per_scan": 2,
        "lr": 2e-3,
        "patience": 0,
        "val_every": 1,
    }
    assert "MSD Task04" in crops["reasons"][-1] and "CPU" in crops["reasons"][-1]

    _, _, heads = ixi_hh()
    plan = _plan(heads[:8], "cpu", None, {}, {}, "vt1-unet", False, UNSET)
    # 2 mm heads (90x120x120) exceed a whole patch: label-centred 48^3 patches, the reference
    # (unpadded) network, 16 epochs of 4 heads a step with 4 patches each (inner validation 0.866),
    # validated every 4th epoch (validating whole heads took longer than training on them).
    assert not plan["whole"] and plan["padding"] == "valid"
    assert plan["patch_size"] == [48, 48, 48]
    assert plan["schedule"] == {
        "epochs": 16,
        "batch_size": 4,
        "patches_per_scan": 4,
        "lr": 2e-3,
        "patience": 0,
        "val_every": 4,
    }
    assert "IXI-HH" in plan["reasons"][-1]


def test_a_given_patch_that_holds_the_crop_is_planned_as_the_crop_it_sees_whole():
    """``--patch-size 40 56 40`` on MSD crops (the planned patch, given) trains as the planned one:
    padded network and the crop schedule; a patch smaller than the crop is label-centred."""
    crops = _msd_subjects()
    given = _plan(crops, "cpu", None, {"patch_size": [40, 56, 40]}, {}, "vt1-unet", False, UNSET)
    assert given["whole"] and given["padding"] == "same" and given["patch_size"] == [40, 56, 40]
    assert (given["schedule"]["epochs"], given["schedule"]["val_every"]) == (12, 1)
    small = _plan(crops, "cpu", None, {"patch_size": [24, 24, 24]}, {}, "vt1-unet", False, UNSET)
    assert not small["whole"] and small["padding"] == "valid" and small["schedule"]["epochs"] == 16


def test_given_values_are_kept_and_named_and_a_gpu_schedule_says_it_is_not_validated():
    given = {**UNSET, "epochs": 3, "lr": 0.01}
    plan = _plan(_msd_subjects(), "cpu", None, {}, {}, "vt1-unet", False, given)
    assert plan["schedule"] == {
        "epochs": 3,
        "batch_size": 2,
        "patches_per_scan": 2,
        "lr": 0.01,
        "patience": 0,
        "val_every": 1,
    }
    assert "(--epochs, --lr given)" in plan["reasons"][-1]
    everything = {"epochs": 1, "batch_size": 3, "patches_per_scan": 5, "lr": 0.1, "patience": 2, "val_every": 1}
    plan = _plan(_msd_subjects(), "cpu", None, {}, {}, "vt1-unet", False, everything)
    assert plan["schedule"] == everything and plan["reasons"][-1].startswith("schedule given: 1 epoch,")
    gpu = _plan(_msd_subjects(), torch.device("cuda"), None, {}, {}, "vt1-unet", False, UNSET)  # named, not used
    assert gpu["schedule"]["epochs"] == 50 and "not yet cross-validated on a GPU" in gpu["reasons"][-1]


def test_the_engine_refuses_a_schedule_nobody_planned():
    config = TrainConfig(epochs=None, lr=None)
    assert config.unset() == ["epochs", "lr"]
    with pytest.raises(ValueError, match="epochs, lr"):
        Trainer(None, None, None, None, None, None, config, {})
    with pytest.raises(ValueError, match="at least 1"):
        TrainConfig(batch_size=0)


def test_the_quick_accuracy_benchmark_trains_half_of_each_planned_schedule():
    """``benchmarks/accuracy/run.py --quick`` (fold 1 in about 30 min on 2 cores) trains every task
    at half its epochs; for segmentation, half of what the planner gives these very scans (12 for
    MSD crops seen whole, 16 for label-centred patches of IXI-HH heads), on the CPU and on CUDA."""
    from brainmri.core.testing import accuracy_recipes_module

    bench = accuracy_recipes_module()
    _, _, heads = ixi_hh()
    for name, subjects, cpu_epochs in (("msd", _msd_subjects(), 12), ("dlmuse", heads[:8], 16)):
        planned = _plan(subjects, "cpu", None, {}, {}, "vt1-unet", False, UNSET)
        assert planned["whole"] == bench.TASKS[name]["whole"], name  # the schedule quick halves is theirs
        assert planned["schedule"]["epochs"] == cpu_epochs
        recipe = bench.RECIPES["cpu"][name]
        quick = bench.quick_recipe(bench.TASKS[name], recipe, "cpu")
        assert quick["train"] == {**recipe["train"], "epochs": cpu_epochs // 2}, name
        assert quick["arch"] == recipe["arch"]
        assert bench.quick_recipe(bench.TASKS[name], recipe, "cuda")["train"]["epochs"] == 25  # of 50
    # classification and regression recipes name their epochs: 60 full-head sex, 40 brain only, 45 age
    for name, epochs in (("sex-full", 30), ("sex-brain", 20), ("age-full", 22), ("age-brain", 22)):
        quick = bench.quick_recipe(bench.TASKS[name], bench.RECIPES["cpu"][name], "cpu")
        assert quick["train"]["epochs"] == epochs, name
