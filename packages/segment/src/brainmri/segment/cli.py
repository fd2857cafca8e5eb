"""Command line of brainmri-segment: ``train``, ``predict`` and ``evaluate``."""

from __future__ import annotations

from functools import partial

import click

from brainmri.core.cli.options import (
    apply_options,
    device_option,
    glob_option,
    handle_errors,
    on_error_option,
    report_option,
    shape_option,
    shard_option,
    train_options,
    triple_option,
)
from brainmri.core.training.cli_factory import export_command

from ._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brainmri-segment")
def main() -> None:
    """brainmri-segment: hippocampus segmentation (0 background, 1 left, 2 right)."""


_TTA = click.Choice(["none", "flip-x", "all"])


_TRAIN_OPTIONS = [
    *train_options(
        datasets=("adni", "msd", "ixi", "bids", "table"),
        architectures=("vt1-unet", "unet"),
        default_arch="vt1-unet",
        exclude=("mask_dir", "preset", "shape", "dropout", "monitor"),
        help={
            "dataset": "Layout of --root: adni (EADC-ADNI HarP), msd (Task04 Hippocampus), or ixi/bids/table "
            "scans with label maps from --label-dir (or a table's label column).",
            "metadata": "IXI.xls or another sheet.",
            "arch": "vt1-unet: the reference 3D U-Net (see --padding); unet: smp-3d U-Net.",
            "spacing": "Grid voxel size in mm: X Y Z, or one value [the data's median].",
            "epochs": "Passes over the training scans [planned: 12 for scans seen whole, such as MSD crops, "
            "16 for label-centred patches of heads, on CPU; 50 on CUDA].",
            "batch_size": "Scans per step (x patches per scan) [planned: 2 whole scans, 4 heads].",
            "lr": "Peak learning rate of AdamW [planned: 0.002].",
            "patience": "Early stopping on val Dice (0: off) [planned: 0].",
            "val_every": "Validate (whole scans, val Dice) every N epochs and at the last [planned: 1 for scans "
            "seen whole, 4 for heads, whose validation takes about as long as their training on CPU].",
            "augment": "All random augmentation.",
            "split_file": "Split JSON; default HarP's own (Labels_100 train, Labels_35 test).",
            "val": "Validation share carved from train.",
            "test": "Test share (msd only).",
        },
        epochs=None,
        batch_size=None,
        lr=None,
        patience=None,
        val_every=None,
    ),
    click.option(
        "--norm",
        type=click.Choice(["none", "batch", "instance"]),
        default=None,
        help="vt1-unet normalisation (default batch).",
    ),
    click.option(
        "--label-dir",
        type=click.Path(exists=True, file_okay=False),
        help="Label maps named after the scans (<scan>_dlmuse, _aseg, _synthseg, _seg, _label .nii.gz): "
        "FreeSurfer, SynthSeg or DLMUSE outputs.",
    ),
    click.option(
        "--labels",
        help="Label lookup for automatic label maps: a preset (dlmuse: 48=left,47=right; freesurfer, aseg, "
        "synthseg: 17=left,53=right) or VALUE=NAME pairs. left/right are checked in world coordinates.",
    ),
    click.option(
        "--base-filters", type=int, default=None, help="vt1-unet channels of the first level [16 CPU, 32 CUDA]."
    ),
    click.option("--levels", type=int, default=None, help="vt1-unet resolution levels (default 3)."),
    click.option(
        "--padding",
        type=click.Choice(["same", "valid"]),
        default=None,
        help="vt1-unet convolutions: same (padded: the output is the whole patch) or valid (the reference's "
        "unpadded network) [planned: same when the patch holds a whole scan, such as an MSD crop; else valid].",
    ),
    click.option(
        "--encoder",
        type=click.Choice(["resnet18", "resnet34", "efficientnet-b0", "densenet121"]),
        default=None,
        help="unet encoder (default resnet18; no pretrained weights).",
    ),
    shape_option(
        "--patch-size",
        "patch_size",
        help="Network input patch in voxels: X Y Z, or one value [planned: the median scan, whole, when it fits "
        "in 64 a side on CPU (128 on CUDA); else label-centred patches of 48 on CPU (128 on CUDA)]; rounded up "
        "to a valid size. A given patch that holds the median scan is planned as seen whole (padding, schedule).",
    ),
    triple_option(
        "--inference-roi",
        help="Sliding window for validation/evaluation/predict (default: the patch; for vt1-unet without "
        "InstanceNorm, whose values do not depend on it, windows fitted to each scan, at most 160^3).",
    ),
    click.option(
        "--patches-per-scan",
        type=int,
        default=None,
        help="Patches from each scan an epoch [planned: 2 for scans seen whole, 4 for heads].",
    ),
    click.option(
        "--foreground-fraction",
        type=float,
        default=0.8,
        show_default=True,
        help="Share of patches centred on a labelled voxel (the rest anywhere).",
    ),
    click.option("--loss", type=click.Choice(["dice", "ce", "dice_ce"]), default="dice_ce", show_default=True),
    click.option("--class-weights", type=float, nargs=3, default=None, help="Weights of background, class 1, class 2."),
    click.option("--tta", type=_TTA, default="flip-x", show_default=True, help="Mirroring at evaluation and predict."),
    click.option("--rotation", type=float, default=10.0, show_default=True, help="Max rotation about each axis (deg)."),
    click.option("--scale", type=float, default=0.1, show_default=True, help="Max relative scaling."),
    click.option(
        "--flip-prob",
        type=float,
        default=0.5,
        show_default=True,
        help="Left-right mirror probability (adni: labels 1 and 2 swap).",
    ),
    click.option(
        "--intensity-augment/--no-intensity-augment",
        default=True,
        show_default=True,
        help="Random gamma, bias field and noise.",
    ),
    click.option("--no-evaluate", is_flag=True, help="Skip segmenting val/test scans at the end."),
]


@main.command("train", short_help="Train a hippocampus network and write a run folder.")
@partial(apply_options, _TRAIN_OPTIONS)
@handle_errors
def train(**kw):
    """Train on label-biased patches and write a run folder (config, split, checkpoints, logs, metrics).

    Example: brainmri-segment train --dataset adni --root HarP/ --out runs/hippo. An epoch
    is one pass over the training scans; each gives --patches-per-scan patches, most centred
    on a hippocampus voxel. Patch, width and schedule not given are planned from the scans and
    the device (printed as plan: lines, with the cross-validation behind them). The best
    checkpoint is chosen by whole-volume validation Dice; at the end the val and test scans
    are segmented on their native grids (Dice, HD95).
    """
    from brainmri.core.errors import BrainmriError
    from brainmri.core.training.distributed import is_main_process
    from brainmri.core.training.trainer import TrainConfig

    from .training import train_segmentation

    if kw["resume"]:
        run = train_segmentation(kw["resume"], resume=True, device=kw["device"], progress=not kw["quiet"])
        if is_main_process():  # once, not per torchrun rank
            click.echo(f"run complete: {run.path}", err=True)
        return
    missing = [f"--{n}" for n in ("dataset", "root", "out") if not kw[n]]
    if missing:
        raise BrainmriError(f"train needs {', '.join(missing)} (or --resume RUN)")
    try:
        config = TrainConfig(
            epochs=kw["epochs"],
            batch_size=kw["batch_size"],
            lr=kw["lr"],
            weight_decay=kw["weight_decay"],
            scheduler=kw["scheduler"],
            patience=kw["patience"],
            val_every=kw["val_every"],
            accumulate=kw["accumulate"],
            amp=kw["amp"],
            seed=kw["seed"],
            augment=kw["augment"],
            num_workers=kw["num_workers"],
            mri_artifacts=kw["mri_artifacts"],
        )
    except ValueError as exc:
        raise BrainmriError(str(exc)) from None
    model_options = {k: kw[k] for k in ("norm", "base_filters", "levels", "padding") if kw[k] is not None}
    if kw["arch"] == "unet":
        model_options = {"encoder": kw["encoder"] or "resnet18"}
    task_options = {
        "loss": kw["loss"],
        "class_weights": list(kw["class_weights"]) if kw["class_weights"] else None,
        "patch_size": list(kw["patch_size"]) if kw["patch_size"] else None,
        "patches_per_scan": kw["patches_per_scan"],
        "foreground_fraction": kw["foreground_fraction"],
        "tta": kw["tta"],
        "inference_roi": list(kw["inference_roi"]) if kw["inference_roi"] else None,
    }
    augment = {"rotation_deg": kw["rotation"], "scale": kw["scale"], "flip_lr_prob": kw["flip_prob"]}
    if not kw["intensity_augment"]:
        augment.update(gamma=0.0, noise_std=0.0, bias_field=0.0)
    run = train_segmentation(
        kw["out"],
        dataset=kw["dataset"],
        root=kw["root"],
        arch=kw["arch"],
        spacing=kw["spacing"],
        metadata=kw["metadata"],
        label_dir=kw["label_dir"],
        labels=kw["labels"],
        train_config=config,
        task_options=task_options,
        model_options=model_options,
        augment=augment,
        split_file=kw["split_file"],
        val=kw["val"],
        test=kw["test"],
        device=kw["device"],
        cache_dir=kw["cache_dir"],
        progress=not kw["quiet"],
        evaluate_after=not kw["no_evaluate"],
    )
    if is_main_process():  # once, not per torchrun rank
        click.echo(f"run complete: {run.path}", err=True)


@main.command("predict", short_help="Segment hippocampi, in each scan's own grid.")
@click.argument("run", type=click.Path())  # a run folder, a .bmri file or its URL#sha256=...
@click.argument("scans", nargs=-1, required=True, type=click.Path(readable=False))  # unreadable: our one-line error
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for <scan>_hippocampus.nii.gz and hippocampus_volumes.csv.",
)
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option("--tta", type=_TTA, default=None, help="Mirroring (default: the run's setting).")
@click.option(
    "--overlap",
    type=float,
    default=None,
    help="Sliding-window overlap (default: the run's; 0 for vt1-unet without InstanceNorm, else 0.5).",
)
@triple_option(
    "--roi",
    help="Sliding window in voxels: X Y Z, or one value (default: the run's; for vt1-unet without "
    "InstanceNorm, windows fitted to each scan).",
)
@click.option("--sw-batch-size", type=int, default=1, show_default=True, help="Windows per forward pass.")
@click.option(
    "--largest-component/--all-components",
    default=None,
    help="Keep only the largest component per side (default: the run's setting, on).",
)
@click.option("--png", is_flag=True, help="Also write <scan>_hippocampus.png: the labels outlined over the scan.")
@device_option
@report_option
@glob_option
@shard_option
@on_error_option
@handle_errors
def predict(
    run,
    scans,
    out_dir,
    checkpoint,
    tta,
    overlap,
    roi,
    sw_batch_size,
    largest_component,
    png,
    device,
    report,
    glob,
    shard,
    on_error,
):
    """Segment SCAN... (files or folders; any orientation) with RUN (a run folder, a .bmri file
    from `export`, or its URL https://host/model.bmri#sha256=<64 hex>).

    Writes <scan>_hippocampus.nii.gz in -o DIR with exactly each scan's shape and affine
    (uint8: 0 background, 1 left, 2 right), DIR/hippocampus_volumes.csv (mm3 per side) and
    DIR/report.html: each scan's outlines and volumes, flagged scans first, to rate and export;
    prints a table of the volumes. With --png, <scan>_hippocampus.png outlines the labels over
    the scan (left vermilion, right blue; letters and mm coordinates on every panel).
    """
    from pathlib import Path

    from brainmri.core.batch import shard_name, shard_scans

    from .predict import VOLUMES_CSV, predict_scans

    paths = shard_scans(scans, shard, glob)
    if not paths:
        return
    from brainmri.core.report import PAGE_NAME

    table = shard_name(VOLUMES_CSV, shard)
    page = Path(out_dir) / shard_name(PAGE_NAME, shard)
    batch = predict_scans(
        run,
        paths,
        out_dir,
        device=device,
        checkpoint=checkpoint,
        tta=tta,
        overlap=overlap,
        roi=roi,
        sw_batch_size=sw_batch_size,
        largest_component=largest_component,
        on_error=on_error,
        table_name=table,
        png=png,
        page=page if report else None,
    )
    if report:
        click.echo(f"QC page: {page}", err=True)
    if batch.done:
        from brainmri.core.wording import table as text_table

        columns = ["output", *(k for k in batch.done[0] if k.endswith(("_mm3", "_side")))]
        click.echo(text_table(batch.done, columns, decimals=0))
        click.echo(f"volumes: {Path(out_dir) / table}", err=True)
    batch.conclude("scans")


@main.command("evaluate", short_help="Dice, HD95 and volume error against reference labels.")
@click.option(
    "--pred",
    "pred_dir",
    type=click.Path(exists=True, file_okay=False),
    help="Folder of <scan>_hippocampus.nii.gz files from predict (needs --root).",
)
@click.option(
    "--run",
    "run_dir",
    type=click.Path(),
    help="Or a run folder (or .bmri file): segment its own split's scans again and update its metrics.json.",
)
@click.option("--dataset", type=click.Choice(["adni", "msd"]), default="adni", show_default=True)
@click.option("--root", type=click.Path(exists=True, file_okay=False), help="Dataset folder (with --pred).")
@click.option(
    "--split",
    type=click.Choice(["train", "val", "test", "all"]),
    default="test",
    show_default=True,
    help="HarP split: train (Labels_100), test (Labels_35) or all; with --run, the run's split part.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Per-subject CSV (default PRED/evaluation_<split>.csv; summary JSON beside it).",
)
@device_option
@on_error_option
@handle_errors
def evaluate(pred_dir, run_dir, dataset, root, split, output, device, on_error):
    """Dice, HD95 (mm) and volume difference per subject and side, and mean +- sd.

    Example: brainmri-segment evaluate --pred preds/ --dataset adni --root HarP/ --split test.
    HD95 is symmetric over surface voxels with the voxel spacing; a side empty in exactly
    one of prediction and reference gives Dice 0 and HD95 inf (left out of the mean, counted).
    """

    from brainmri.core.errors import BrainmriError

    from .evaluate import evaluate_predictions, evaluate_run, summary_lines
    from .labels import dataset_labels, task_classes

    if (pred_dir is None) == (run_dir is None):
        raise BrainmriError("give --pred DIR (with --root) or --run RUN")
    if run_dir is not None:
        if split == "all":
            raise BrainmriError("with --run, --split is one of train, val, test")
        from brainmri.core.export import resolve_model
        from brainmri.core.training.rundir import RunDir

        run_dir = resolve_model(run_dir, folder=True)  # a .bmri: its unpacked run folder in the cache
        summary = evaluate_run(run_dir, splits=(split,), device=device)[split]
        classes = task_classes(RunDir(run_dir).read_config()["task_config"])
        for line in summary_lines(summary, classes):
            click.echo(line)
        from brainmri.core.report import write_run_report

        page = write_run_report(run_dir)
        click.echo(f"updated {run_dir}/metrics.json, predictions.csv and {page.name}", err=True)
        return
    if root is None:
        raise BrainmriError("--pred needs --root (the dataset folder with the reference labels)")
    if split == "val":
        raise BrainmriError("HarP splits are train, test or all (val exists only inside a run: use --run)")
    report, summary, path = evaluate_predictions(
        pred_dir, dataset, root, None if split == "all" else split, out=output, on_error=on_error
    )
    for line in summary_lines(summary, dataset_labels(dataset)[0]):
        click.echo(line)
    click.echo(f"per subject: {path}; summary: {path.with_suffix('.json')}", err=True)
    report.conclude("subjects")


main.add_command(export_command())
