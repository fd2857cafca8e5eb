"""``train``, ``evaluate`` and ``predict`` commands built once for every task package.

A task package's CLI is a click group plus one call::

    add_task_commands(main, "sex", task_options=[click.option("--threshold", ...)])

Options a task adds (``task_options``) reach ``Task.prepare`` by their parameter names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

from ..cli._common import (
    device_option,
    empty_share,
    expand_scans,
    handle_errors,
    on_error_option,
    shard_name,
    shard_option,
    take_shard,
)
from ..cli.glob_option import glob_option

#: Names of the generic train options (everything else is a task option).
_GENERIC = {
    "dataset", "root", "metadata", "mask_dir", "out", "arch", "preset", "spacing", "shape", "epochs", "batch_size",
    "lr", "weight_decay", "scheduler", "patience", "accumulate", "augment", "device", "seed", "split_file", "val",
    "test", "resume", "num_workers", "cache_dir", "amp", "dropout", "monitor", "quiet",
}


def _apply(options: Sequence[Callable], func: Callable) -> Callable:
    for option in reversed(list(options)):
        func = option(func)
    return func


def _triple(ctx, param, value):
    if value is None or len(value) == 0:
        return None
    if len(value) not in (1, 3):
        raise click.BadParameter("give one value or three (X Y Z)")
    return tuple(value) * (3 // len(value))


def _train_command(task_name: str, task_options: Sequence[Callable], architectures, default_arch) -> click.Command:
    def train(**kw):
        """Train a model on a dataset and write a run folder (config, split, checkpoints, logs, metrics).

        Full head: --dataset ixi --root DIR --out RUN. Brain only: add --mask-dir DIR (HD-BET masks
        named <scan>_mask.nii.gz, e.g. from brainmri-core skullstrip). A killed run continues with
        --resume RUN. Under torchrun (--nproc_per_node=N) it trains with DistributedDataParallel.
        """
        from ..errors import BrainmriError
        from ..tasks import get_task
        from .distributed import is_main_process
        from .trainer import TrainConfig
        from .workflow import train as run_train

        task = get_task(task_name)
        if kw["resume"]:
            run_train(task, kw["resume"], resume=True, device=kw["device"], progress=not kw["quiet"])
            if is_main_process():  # once, not per torchrun rank
                click.echo(f"run complete: {kw['resume']}", err=True)
            return
        missing = [name for name in ("dataset", "root", "out") if not kw[name]]
        if missing:
            raise BrainmriError("train needs " + ", ".join(f"--{m}" for m in missing) + " (or --resume RUN)")
        try:
            config = TrainConfig(
                epochs=kw["epochs"], batch_size=kw["batch_size"], lr=kw["lr"], weight_decay=kw["weight_decay"],
                scheduler=kw["scheduler"], patience=kw["patience"], accumulate=kw["accumulate"], amp=kw["amp"],
                seed=kw["seed"], augment=kw["augment"], num_workers=kw["num_workers"], monitor=kw["monitor"])
        except ValueError as exc:
            raise BrainmriError(str(exc)) from None
        run = run_train(
            task, kw["out"], dataset=kw["dataset"], root=kw["root"], metadata=kw["metadata"], mask_dir=kw["mask_dir"],
            arch=kw["arch"], preset=kw["preset"], spacing=kw["spacing"], shape=kw["shape"], train_config=config,
            task_options={k: v for k, v in kw.items() if k not in _GENERIC},
            model_options={} if kw["dropout"] is None else {"dropout": kw["dropout"]},
            split_file=kw["split_file"], val=kw["val"], test=kw["test"], device=kw["device"],
            cache_dir=kw["cache_dir"], progress=not kw["quiet"])
        if is_main_process():  # once, not per torchrun rank
            click.echo(f"run complete: {run.path}", err=True)

    options = [
        click.option("--dataset", type=click.Choice(["ixi", "adni", "msd", "table", "bids"]),
                     help="Layout of --root (table: a CSV/TSV with image and target columns). "
                          "[required unless --resume]"),
        click.option("--root", type=click.Path(exists=True),
                     help="Dataset folder (or the table file). [required unless --resume]"),
        click.option("--metadata", type=click.Path(exists=True), help="Demographics file (IXI.xls/CSV...)."),
        click.option("--mask-dir", type=click.Path(exists=True, file_okay=False),
                     help="Brain masks: train on brain-extracted input (scan x mask)."),
        click.option("--out", type=click.Path(), help="Run folder to create. [required unless --resume]"),
        click.option("--resume", type=click.Path(exists=True, file_okay=False),
                     help="Continue this run from its last checkpoint (other options come from its config)."),
        click.option("--arch", type=click.Choice(list(architectures)), default=default_arch, show_default=True),
        click.option("--preset", type=click.Choice(["default", "vt1"]), default="default", show_default=True,
                     help="Pipeline preset (vt1: the reference project's preprocessing)."),
        click.option("--spacing", type=float, multiple=True, callback=_triple,
                     help="Voxel size in mm (1 or 3 values) [planned from the data and the device: the finest "
                          "whose grid covers the heads within the device's budget, e.g. 4 mm on CPU, 2 mm on CUDA]."),
        click.option("--shape", type=int, multiple=True, callback=_triple,
                     help="Grid shape (1 or 3 values) [planned: the median field of view at that voxel size]."),
        click.option("--epochs", type=int, default=20, show_default=True),
        click.option("--batch-size", type=int, default=8, show_default=True, help="Per process."),
        click.option("--lr", type=float, default=1e-3, show_default=True),
        click.option("--weight-decay", type=float, default=1e-4, show_default=True),
        click.option("--scheduler", type=click.Choice(["cosine", "plateau", "none"]), default="cosine",
                     show_default=True),
        click.option("--patience", type=int, default=10, show_default=True, help="Early stopping (0: off)."),
        click.option("--accumulate", type=int, default=1, show_default=True, help="Gradient accumulation steps."),
        click.option("--amp", type=click.Choice(["auto", "bf16", "off"]), default="auto", show_default=True,
                     help="auto: bf16 autocast on CUDA only."),
        click.option("--augment/--no-augment", default=True, show_default=True),
        click.option("--dropout", type=float, default=None, help="Dropout before the head (architecture default)."),
        click.option("--monitor", default=None, help="Metric for the best checkpoint (default: the task's)."),
        device_option,
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--split-file", type=click.Path(exists=True, dir_okay=False),
                     help="Split JSON (brainmri-core split); default: a seeded stratified split."),
        click.option("--val", type=float, default=0.15, show_default=True),
        click.option("--test", type=float, default=0.15, show_default=True),
        click.option("--num-workers", type=int, default=0, show_default=True, help="Decoding worker processes."),
        click.option("--cache-dir", type=click.Path(file_okay=False), help="Disk cache of decoded scans."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
        *task_options,
    ]
    return click.command("train", short_help="Train a model and write a run folder.")(
        handle_errors(_apply(options, train)))


def _evaluate_command(task_name: str) -> click.Command:
    @click.command("evaluate", short_help="Metrics of a run with 95% bootstrap intervals.")
    @click.argument("run", type=click.Path(exists=True, file_okay=False))
    @click.option("--split", "splits", multiple=True, type=click.Choice(["train", "val", "test"]),
                  help="Parts to evaluate (repeatable; default test).")
    @click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples (95% CI).")
    @click.option("--refit-calibration", is_flag=True, help="Fit calibration.json on the val split again.")
    @device_option
    @handle_errors
    def evaluate(run, splits, n_boot, refit_calibration, device):
        """Write metrics.json (with 95% bootstrap intervals) and per-subject predictions.csv for RUN."""
        import json

        from ..wording import rounded
        from .workflow import evaluate as run_evaluate

        results = run_evaluate(run, splits=splits or ("test",), device=device, n_boot=n_boot,
                               refit_calibration=refit_calibration)
        click.echo(json.dumps(rounded(results), indent=2))  # metrics.json keeps every digit

    return evaluate


def _predict_command(task_name: str) -> click.Command:
    @click.command("predict", short_help="Predict scans (files or folders) with a run.")
    @click.argument("run", required=False, type=click.Path())
    @click.argument("scans", nargs=-1, type=click.Path(readable=False))  # unreadable: our one-line error
    @click.option("-o", "--output", type=click.Path(dir_okay=False), help="CSV file (default: print to stdout).")
    @click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False),
                  help="A raw reference checkpoint (.pth) instead of a run folder.")
    @click.option("--arch", default="vt1", show_default=True, help="Architecture of --checkpoint.")
    @click.option("--preset", type=click.Choice(["default", "vt1"]), default="vt1", show_default=True,
                  help="Pipeline of --checkpoint.")
    @click.option("--spacing", type=float, multiple=True, callback=_triple, help="Grid of --checkpoint (mm).")
    @click.option("--shape", type=int, multiple=True, callback=_triple, help="Grid shape of --checkpoint.")
    @click.option("--brain", is_flag=True, help="--checkpoint takes brain-extracted input.")
    @click.option("--mask-dir", type=click.Path(exists=True, file_okay=False), help="Brain masks of the scans.")
    @click.option("--skull-strip", is_flag=True, help="Compute brain masks with HD-BET (brainmri-core[hdbet]).")
    @click.option("--true", "truth", multiple=True, type=float,
                  help="True value per scan, in order (repeat): adds e.g. the brain-age gap.")
    @device_option
    @glob_option
    @shard_option
    @on_error_option
    @handle_errors
    def predict(run, scans, output, checkpoint, arch, preset, spacing, shape, brain, mask_dir, skull_strip, truth,
                device, glob, shard, on_error):
        """Predict SCAN... (files or folders; any orientation) with RUN, or with --checkpoint FILE.pth --arch vt1."""
        import csv
        import sys
        from pathlib import Path

        from ..errors import BrainmriError
        from ..tasks import get_task
        from .predict import predict_scans
        from .rundir import RunDir

        if checkpoint is not None and run is not None:
            scans = (run, *scans)
            run = None
        if run is not None and Path(run).is_file():  # a .pth given where the run folder goes
            raise BrainmriError(f"{run}: a file, not a run folder; for a reference checkpoint give "
                                f"--checkpoint {run} --arch vt1 (and --brain for brain-only models)")
        if run is not None:
            RunDir(run).require()
        if mask_dir and skull_strip:
            raise BrainmriError("give --mask-dir or --skull-strip, not both")
        scans = expand_scans(scans, glob)  # folders: the scans in them, as every batch command does
        if not scans:
            raise BrainmriError("no scans given")
        if truth and len(truth) != len(scans):
            raise BrainmriError(f"got {len(truth)} --true values for {len(scans)} scans; give one per scan")
        scans, truth = take_shard(scans, shard), take_shard(truth, shard)
        if empty_share(scans, shard):
            return
        if checkpoint is not None:
            brain = brain or bool(mask_dir) or skull_strip
        report = predict_scans(get_task(task_name), scans, run_dir=run, checkpoint=checkpoint, arch=arch,
                               preset=preset, spacing=spacing, shape=shape, brain=brain, mask_dir=mask_dir,
                               skull_strip=skull_strip, targets=list(truth) or None, device=device,
                               on_error=on_error)
        if output:
            output = Path(output).with_name(shard_name(Path(output).name, shard))
            RunDir(output.parent).write_csv(output, report.done)
            click.echo(f"wrote {output}", err=True)
        elif report.done:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(report.done[0]), lineterminator="\n")
            writer.writeheader()
            from ..wording import rounded

            writer.writerows(rounded(row) for row in report.done)  # the CSV file (-o) keeps every digit
        report.conclude("scans")

    return predict


def add_task_commands(group: click.Group, task_name: str, task_options: Sequence[Callable] = (),
                      architectures: Sequence[str] = ("vt1", "resnet3d", "sfcn"),
                      default_arch: str = "resnet3d") -> None:
    """Add ``train``, ``evaluate`` and ``predict`` for the registered task ``task_name`` to ``group``.

    Args:
        group: The task package's click group.
        task_name: Registry name of the task.
        task_options: Extra ``click.option`` decorators of ``train`` (passed to ``Task.prepare``).
        architectures: ``--arch`` choices.
        default_arch: ``--arch`` default.
    """
    group.add_command(_train_command(task_name, task_options, architectures, default_arch))
    group.add_command(_evaluate_command(task_name))
    group.add_command(_predict_command(task_name))
