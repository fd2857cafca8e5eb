"""What the accuracy benchmark trains: tasks, the recipes chosen by cross-validation, the anchors.

``cpu`` is sized for a 2-core machine: grids and patches from the planner's CPU budget, and for
segmentation the task's planned schedule (``train`` with no option: the benchmark measures the
default). Its five folds take 3.0-4.2 h on a 2-core EPYC (2026-12-02; the shared machine's
speed varies), at or over the 3 h asked: the recipes the cross-validation chose were kept;
``--quick`` (the first fold at half the epochs) took 29 min. ``full`` is the reference
project's 2 mm / 128^3 grid and larger patches, for a CUDA machine.
"""

from __future__ import annotations


def _msd(data):
    return {"dataset": "msd", "root": str(data / "Task04_Hippocampus")}


def _dlmuse(data):
    root = data / "ixi-hh"
    return {"dataset": "ixi", "root": str(root), "metadata": str(root / "IXI.xls"),
            "label_dir": str(root / "labels"), "label_lookup": "48=left,47=right"}


#: Benchmark tasks: which task package and data each uses.
TASKS = {
    "sex-full": {"kind": "classify", "task": "sex"},
    "sex-brain": {"kind": "classify", "task": "sex", "brain": True},
    "age-full": {"kind": "regress", "task": "age"},
    "age-brain": {"kind": "regress", "task": "age", "brain": True},
    # whole: the planner gives these crops a patch that holds them whole (MSD), or label-centred
    # patches of larger scans (heads): which of the segment task's planned schedules trains them
    "msd": {"kind": "segment", "data": _msd, "classes": ("anterior", "posterior"), "whole": True},
    "dlmuse": {"kind": "segment", "data": _dlmuse, "classes": ("left", "right"), "whole": False},
}

# Sex: batch 2 beat batch 8 on the five folds' inner validation (loss 0.248 vs 0.353, balanced
# accuracy 0.93 vs 0.88), in less time: the brainmri-classify train default. The sex task trains
# without the default preset's +-5% scaling (brainmri.classify.defaults.AUGMENT: size is a sex cue;
# inner-validation loss brain only 0.562 vs 0.580, full head 0.201 vs 0.248). 40 epochs beat 20
# (loss brain only 0.517 vs 0.562, full head 0.109 vs 0.201; balanced accuracy no lower). 60 epochs
# beat 40 for full heads only (loss 0.084 vs 0.109; brain only 0.530 vs 0.517): the train
# defaults per input (brainmri.classify.defaults).
_SEX = {"arch": "vt1", "train": {"epochs": 60, "batch_size": 2, "lr": 1e-3, "patience": 0}}
_SEX_BRAIN = {**_SEX, "train": {**_SEX["train"], "epochs": 40}}
# Age: l1 stalled at the mean in the first epochs; batch 2 / 30 epochs beat batch 8 / 20 epochs
# on fold 1 (9.15 y vs 12.7 y MAE); 45 epochs beat 30 on the five folds' inner validation (MAE
# 8.30 y vs 8.46 y, loss 0.352 vs 0.358): the brainmri-regress train defaults. Brain-only age is
# planned on the brain masks by the task itself (AgeTask.brain_grid: 3 mm centred on each brain's box,
# inner-validation MAE 6.71 y vs 7.10 y on the head's 4 mm grid).
_AGE = {"arch": "vt1", "task_options": {"loss": "mse"},
        "train": {"epochs": 45, "batch_size": 2, "lr": 1e-3, "patience": 0}}
# Segmentation: the task's own plan, on CPU: patch, padding, width and schedule (epochs, batch,
# patches a scan, lr), each chosen by this benchmark's inner validation and now the defaults of
# `brainmri-segment train` (brainmri.segment.schedule holds the evidence). On fold 1's inner
# validation split, MSD crops: padded convolutions and the whole crop as the patch reached Dice
# 0.83 in 11 min, where the unpadded network (output: the patch's 4x16x4 centre) reached 0.72
# in 8 epochs and 38 min; IXI-HH heads: 48^3 patches 0.80, 64^3 0.37 (8 epochs, 1 patch a head).
_SEG = {"arch": "vt1-unet", "train": {}}
_SEG_FULL = {"arch": "vt1-unet", "train": {"epochs": 50, "batch_size": 2, "lr": 2e-3, "patience": 0}}

#: Recipes per configuration (``spacing``/``shape``/patch left out: the planner decides).
RECIPES = {
    "cpu": {
        "sex-full": _SEX, "sex-brain": _SEX_BRAIN, "age-full": _AGE, "age-brain": _AGE,
        "msd": _SEG,
        "dlmuse": _SEG,
    },
    "full": {
        "sex-full": {**_SEX, "spacing": (2.0,) * 3, "shape": (128,) * 3, "train": {**_SEX["train"], "epochs": 40}},
        "sex-brain": {**_SEX, "spacing": (2.0,) * 3, "shape": (128,) * 3, "train": {**_SEX["train"], "epochs": 40}},
        "age-full": {**_AGE, "spacing": (2.0,) * 3, "shape": (128,) * 3, "train": {**_AGE["train"], "epochs": 40}},
        "age-brain": {**_AGE, "spacing": (2.0,) * 3, "shape": (128,) * 3, "train": {**_AGE["train"], "epochs": 40}},
        "msd": {**_SEG_FULL, "model_options": {"base_filters": 32}},
        "dlmuse": {**_SEG_FULL, "model_options": {"base_filters": 32}, "task_options": {"patch_size": [64, 64, 64]}},
    },
}

#: ``--quick``: the first fold of each task, at this share of its epochs. With every epoch of the
#: defaults the first folds took 50.5 min on 2 idle cores (AMD EPYC, 2026-12-02), over the 30 min
#: asked of ``--quick``; a fold's time is nearly all training epochs, so half of them fits. Quick
#: figures check the whole benchmark end to end; the five-fold run of the defaults is the one to cite.
QUICK_EPOCHS = 0.5


def quick_recipe(spec: dict, recipe: dict, device_kind: str) -> dict:
    """``recipe`` with :data:`QUICK_EPOCHS` of its epochs (of the task's planned schedule on
    ``device_kind`` where the recipe leaves the epochs to the planner, as segmentation does)."""
    epochs = recipe["train"].get("epochs")
    if epochs is None:
        from brainmri.segment.schedule import SCHEDULES

        epochs = SCHEDULES[spec["whole"], device_kind].epochs
    return {**recipe, "train": {**recipe["train"], "epochs": max(1, round(epochs * QUICK_EPOCHS))}}


#: Suffix of a task trained again with ``--mri-artifacts`` (TorchIO's MRI artifacts on its batches).
ARTIFACTS = "+mri-artifacts"


def with_mri_artifacts(recipe: dict) -> dict:
    """The same recipe with TorchIO's MRI artifacts at their default probabilities."""
    return {**recipe, "train": {**recipe["train"], "mri_artifacts": True}}


def expand_tasks(names) -> list[str]:
    """Task names, a prefix standing for every task it starts (``age``: ``age-full``, ``age-brain``)."""
    out = []
    for name in names:
        matches = [t for t in TASKS if t == name or t.startswith(f"{name}-")]
        if not matches:
            raise ValueError(f"unknown task {name!r}; use {', '.join(TASKS)} or a prefix (sex, age)")
        out += [m for m in matches if m not in out]
    return out


#: The reference project, the literature and this project's targets, per task.
ANCHORS = {
    "sex-full": {"title": "sex, full head", "metrics": [("balanced_accuracy", "balanced accuracy"),
                                                        ("roc_auc", "ROC-AUC")],
                 "reference": "~100% (all IXI, ~560)", "literature": "SFCN 99.5% (UK Biobank)",
                 "target": {"balanced_accuracy": ">= 0.95"}},
    "sex-brain": {"title": "sex, brain only", "metrics": [("balanced_accuracy", "balanced accuracy"),
                                                          ("roc_auc", "ROC-AUC")],
                  "reference": "~80%", "literature": "86% within cohort (Ebel 2023)",
                  "target": {"balanced_accuracy": ">= 0.85"}},
    "age-full": {"title": "age, full head", "metrics": [("mae", "MAE (y)"), ("pearson_r", "Pearson r")],
                 "reference": "7.79 y", "literature": "brainageR 3.9 y", "target": {"mae": "<= 6.0"}},
    "age-brain": {"title": "age, brain only", "metrics": [("mae", "MAE (y)"), ("pearson_r", "Pearson r")],
                  "reference": "slightly worse than full head", "literature": "", "target": {"mae": "<= 6.5"}},
    "msd": {"title": "hippocampus, MSD Task04", "metrics": [("dice_anterior", "Dice anterior"),
                                                            ("dice_posterior", "Dice posterior"),
                                                            ("hd95_anterior", "HD95 anterior (mm)"),
                                                            ("hd95_posterior", "HD95 posterior (mm)")],
            "reference": "(HarP 0.77)", "literature": "nnU-Net 0.90 / 0.89",
            "target": {"dice_anterior": ">= 0.90", "dice_posterior": ">= 0.89", "hd95_anterior": "<= 1.5",
                       "hd95_posterior": "<= 1.5"}},
    "dlmuse": {"title": "hippocampus vs DLMUSE (agreement)", "metrics": [("dice_left", "Dice left"),
                                                                         ("dice_right", "Dice right"),
                                                                         ("hd95_left", "HD95 left (mm)"),
                                                                         ("hd95_right", "HD95 right (mm)")],
               "reference": "", "literature": "", "target": {"dice_left": ">= 0.85", "dice_right": ">= 0.85"}},
}
