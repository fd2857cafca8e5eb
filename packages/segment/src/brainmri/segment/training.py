"""Training a segmentation network on label-biased patches with the core's training engine.

The engine's :class:`~brainmri.core.training.Trainer` runs the loop (AdamW, schedule, AMP,
accumulation, checkpoints, resume, logs, DDP); :class:`SegmentTrainer` swaps its pipeline
for the :class:`~brainmri.segment.sampling.PatchSampler` and validates with whole-volume
sliding-window Dice. :func:`train_segmentation` writes the run folder (DESIGN.md) with
HarP's own split by default (Labels_100 train, Labels_35 test, validation carved from train);
the run folder's life (start, resume, DDP, evaluation) is the core's :func:`run_training`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from brainmri.core.datasets.lookup import LabelLookup
from brainmri.core.devices import resolve_device
from brainmri.core.errors import BrainmriError, DatasetError
from brainmri.core.training.distributed import launched_by_torchrun
from brainmri.core.training.rundir import RunDir
from brainmri.core.training.trainer import PLANNABLE, TrainConfig, Trainer

from .subjects import labelled_subjects
from .task import TASK

#: Augmentation used for segmentation unless overridden (a left-right flip swaps labels 1 and 2).
DEFAULT_AUGMENT = {
    "rotation_deg": 10.0,
    "scale": 0.1,
    "translation_mm": 0.0,
    "flip_lr_prob": 0.5,
    "gamma": 0.2,
    "noise_std": 0.05,
    "bias_field": 0.2,
}


class SegmentTrainer(Trainer):
    """The engine's trainer with patch sampling and whole-volume validation.

    Arguments are those of :class:`~brainmri.core.training.Trainer`; the task configuration
    gives the patches (``patches_per_scan``, ``foreground_fraction``, ``classes``).
    Validation logs ``val_dice`` (mean over classes and subjects), ``val_dice_<class>`` and
    ``val_loss`` (the task loss of the blended probabilities), on the world-aligned grid,
    without TTA.
    """

    def __init__(self, task, model, *args, **kwargs):
        device = kwargs.get("device", "auto")
        # oneDNN's channels-last 3D convolutions train about 30% faster on CPU; not under DDP,
        # whose gradient buckets expect the layout the parameters had when it wrapped them.
        self.channels_last = resolve_device(device).type == "cpu" and not launched_by_torchrun()
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last_3d)
        super().__init__(task, model, *args, **kwargs)
        from .sampling import PatchSampler

        tc = self.task_config
        self.classes = {int(k): v for k, v in tc["classes"].items()}
        self.pipeline = PatchSampler(
            self.pipeline.config,
            tc["patches_per_scan"],
            tc["foreground_fraction"],
            classes=tuple(self.classes),
            num_classes=len(self.classes) + 1,
            device=self.device,
        )

    def validate(self, loader) -> dict:
        from .inference import Segmenter
        from .losses import probability_loss

        dist = self.dist
        segmenter = Segmenter(
            self.model,
            self.pipeline.config,
            {**self.task_config, "tta": "none"},
            device=self.device,
            amp=self.config.amp,
            channels_last=self.channels_last,  # never change the layout of the model in training
        )
        names = list(self.classes.values())
        sums = np.zeros(len(names) + 2)  # per-class Dice, loss, count
        for i in range(dist.rank, len(self.val_set), dist.world_size):
            sample = self.val_set.sample(i)
            grid = segmenter.prepare(sample)
            probs = segmenter.probabilities(grid)
            target = grid.batch.labels
            sums[len(names)] += float(
                probability_loss(
                    probs[None],
                    target,
                    self.task_config.get("loss", "dice_ce"),
                    self.task_config.get("class_weights"),
                )
            )
            labels = segmenter.clean(probs).argmax(0)
            truth = target[0, 0]
            for j, value in enumerate(self.classes):
                p, t = labels == value, truth == value
                denom = int(p.sum()) + int(t.sum())
                sums[j] += 1.0 if denom == 0 else 2.0 * int((p & t).sum()) / denom
            sums[-1] += 1
        self.model.train()
        from brainmri.core.training.distributed import reduce_sums

        sums = np.asarray(reduce_sums(dist, sums.tolist()))
        n = max(sums[-1], 1.0)
        row = {f"val_dice_{name}": sums[j] / n for j, name in enumerate(names)}
        row["val_dice"] = float(np.mean([row[f"val_dice_{name}"] for name in names]))
        row["val_loss"] = sums[len(names)] / n
        return row


def _abs(path) -> str | None:
    return None if path is None else os.path.abspath(path)


def _plan(train_subjects, device, spacing, options: dict, model_options: dict, arch: str, progress: bool,
          schedule: dict) -> dict:
    """Patch, voxel size, width, padding and schedule from the training scans' fingerprint and the
    device (printed); ``schedule`` holds the user's values of the schedule's fields (None: planned)."""
    from brainmri.core.training.planning import plan_from_subjects, plan_patch

    from .schedule import plan_schedule

    def planner(fp, dev, **given):
        plan = plan_patch(fp, dev, **given)
        if arch == "vt1-unet":
            plan["patch_size"], reason = _plan_padding(model_options, plan["patch_size"], plan["whole"])
            plan["padding"] = model_options["padding"]
            plan["reasons"].append(reason)
        plan["schedule"], reason = plan_schedule(plan["whole"], plan["device"], schedule)
        plan["reasons"].append(reason)
        return plan

    width = model_options.get("base_filters") if arch == "vt1-unet" else 0
    plan = plan_from_subjects(train_subjects, planner, device, progress=progress, spacing=spacing,
                              patch=options.get("patch_size"), base_filters=width)
    if arch == "vt1-unet":
        model_options["base_filters"] = plan["base_filters"]
    return plan


def _plan_padding(model_options: dict, patch: list, whole: bool) -> tuple[list, str]:
    """vt1-unet's padding (set in ``model_options``) and the patch.

    A patch planned to hold a whole scan (a crop such as MSD's) gets padded convolutions, so
    that every voxel of it trains; an unpadded network would train only its centre (the
    4x16x4 centre of a 44x56x44 input), so with ``padding="valid"`` such a patch grows by the
    margin. Scans larger than the patch (whole heads, label-centred patches) keep the reference
    network, whose output is the patch's centre, where the label is.
    """
    from .models import VT1UNet

    size = "x".join(map(str, patch))
    if "padding" not in model_options:
        model_options["padding"] = "same" if whole else "valid"
        if whole:
            return patch, (f"padded convolutions: the output is the whole {size} patch, so all of each scan "
                           "trains (--padding valid would train only its centre)")
        return patch, ("unpadded convolutions (the reference network): the scans are larger than the patch, "
                       "and the output is the centre of each label-centred patch")
    if model_options["padding"] == "same" or not whole:
        return patch, f"--padding {model_options['padding']} given"
    margin = VT1UNet(base_filters=1, levels=model_options.get("levels", 3), padding="valid").margin
    grown = [p + 2 * margin for p in patch]
    return grown, (f"--padding valid: patch {'x'.join(map(str, grown))}, the planned {size} plus the unpadded "
                   f"network's margin ({margin} voxels a side), so that its output covers the scan")


def _pipeline_config(spacing, patch_size, lr_pairs, augment: dict | None):
    from brainmri.core.pipeline import AugmentConfig, PipelineConfig

    pairs = tuple(tuple(p) for p in lr_pairs)  # MSD's anterior/posterior: none, a flip keeps them
    aug = AugmentConfig(**{**DEFAULT_AUGMENT, **(augment or {}), "lr_label_pairs": pairs})
    return PipelineConfig(spacing=spacing, shape=patch_size, augment=aug)


def train_segmentation(
    out: str | os.PathLike,
    *,
    dataset: str | None = None,
    root: str | os.PathLike | None = None,
    arch: str = "vt1-unet",
    spacing=None,
    metadata: str | os.PathLike | None = None,
    label_dir: str | os.PathLike | None = None,
    labels: str | None = None,
    train_config: TrainConfig | None = None,
    task_options: dict[str, Any] | None = None,
    model_options: dict[str, Any] | None = None,
    augment: dict[str, Any] | None = None,
    split_file: str | os.PathLike | None = None,
    val: float = 0.15,
    test: float = 0.15,
    device: str = "auto",
    resume: bool = False,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    evaluate_after: bool = True,
) -> RunDir:
    """Train a hippocampus segmentation network and write the run folder.

    Args:
        out: Run folder; must not hold a run unless ``resume``.
        dataset: ``adni`` (EADC-ADNI HarP layout), ``msd`` (Task04), or any layout with
            ``label_dir`` (``ixi``, ``bids``, ``table``).
        root: Dataset folder (or the table file).
        arch: ``vt1-unet`` or ``unet``.
        spacing: Grid voxel size in mm (scalar or 3 values); default: the data's median.
        metadata: The layout's metadata file (IXI.xls...), when not in ``root``.
        label_dir: Folder of label maps named after the scans (``<scan>_dlmuse.nii.gz``,
            ``<scan>_aseg.nii.gz``...), e.g. FreeSurfer, SynthSeg or DLMUSE outputs.
        labels: A label lookup (``dlmuse``, ``freesurfer``, or ``48=left,47=right``) turning
            those maps into the classes; ``left``/``right`` are checked in world coordinates.
            Patch size and U-Net width default to a plan from the data and the device
            (config.json ``plan``).
        train_config: Engine hyper-parameters (an epoch is one pass over the training scans,
            ``patches_per_scan`` patches from each); ``epochs``, ``batch_size``, ``lr``,
            ``patience`` and ``val_every`` left None, and all of them without a ``train_config``,
            come from the cross-validated schedule (:mod:`brainmri.segment.schedule`).
        task_options: See :class:`~brainmri.segment.task.HippocampusTask` (``patch_size``,
            ``loss``, ``class_weights``, ``tta``...; ``patches_per_scan`` None: planned).
        model_options: Architecture keyword arguments (``norm``, ``base_filters``, ``levels``;
            ``encoder``).
        augment: Overrides of :data:`DEFAULT_AUGMENT` (AugmentConfig fields).
        split_file: A split JSON; default the core's ``default_split`` (HarP's own folders).
        val, test: Validation fraction (carved from HarP's train folder); test fraction (MSD).
        device: ``auto``, ``cpu``, ``cuda``...
        resume: Continue the run in ``out`` from its last checkpoint.
        cache_dir: Disk cache of decoded scans.
        progress: Progress bars and epoch lines on stderr.
        evaluate_after: Segment the val and test scans on their native grids and write
            metrics.json and predictions.csv.

    Returns:
        The :class:`RunDir`.
    """
    from brainmri.core.splits import Split, default_split
    from brainmri.core.training.workflow import run_config, run_training

    def new_run():
        if dataset is None or root is None:
            raise BrainmriError("train needs --dataset and --root (or --resume RUN)")
        if arch not in TASK.architectures:
            raise BrainmriError(f"unknown architecture {arch!r}; use one of {', '.join(TASK.architectures)}")
        train_config = config_in or TrainConfig(**dict.fromkeys(PLANNABLE), monitor="val_dice", monitor_mode="max")
        data = {"dataset": dataset, "root": os.path.abspath(root), "metadata": _abs(metadata),
                "label_dir": _abs(label_dir), "label_lookup": None,
                "split_file": _abs(split_file), "cache_dir": _abs(cache_dir)}
        options = {**(task_options or {}), "dataset": dataset}
        if labels:
            try:
                lookup = LabelLookup.parse(labels)
            except ValueError as exc:
                raise BrainmriError(str(exc)) from None
            data["label_lookup"] = lookup.spec
            options.update(classes={str(k): v for k, v in lookup.classes.items()}, lr_pairs=lookup.lr_pairs)
        subjects = labelled_subjects(data)
        split = Split.load(split_file) if split_file else default_split(subjects, val, test, train_config.seed)
        if not split.select(subjects, "train"):
            raise DatasetError(root, "the split leaves no training subject")
        model_options_ = dict(model_options or {})
        given = {f: getattr(train_config, f) for f in PLANNABLE}
        given["patches_per_scan"] = options.get("patches_per_scan")
        plan = _plan(split.select(subjects, "train"), device, spacing, options, model_options_, arch, progress, given)
        options.update(patch_size=plan["patch_size"], patches_per_scan=plan["schedule"]["patches_per_scan"])
        train_config = replace(train_config, **{f: plan["schedule"][f] for f in PLANNABLE})
        try:
            task_config = TASK.prepare(options, split.select(subjects, "train"))
        except ValueError as exc:
            raise BrainmriError(str(exc)) from None
        model_config = {"arch": arch, "out_features": TASK.out_features(task_config), "options": model_options_}
        try:
            net = TASK.build_model(model_config)
        except (ValueError, TypeError) as exc:
            raise BrainmriError(f"--arch {arch}: {exc}") from None
        for key in ("patch_size", "inference_roi"):
            if task_config.get(key) is not None:
                task_config[key] = [int(net.valid_size(s)) for s in task_config[key]]
        pipeline = _pipeline_config(plan["spacing"], task_config["patch_size"], task_config["lr_pairs"], augment)
        config = run_config(TASK, arch, model_config, pipeline, "segment", train_config, task_config, data)
        config["plan"] = plan
        return config, split, subjects

    def evaluate_after_training(path, dev):
        from .evaluate import evaluate_run

        evaluate_run(path, splits=("val", "test"), device=dev, progress=progress)

    config_in = train_config
    return run_training(
        TASK,
        out,
        new_run,
        labelled_subjects,
        resume=resume,
        device=device,
        progress=progress,
        trainer_class=SegmentTrainer,
        evaluate_run=evaluate_after_training if evaluate_after else None,
    )
