"""``train``, ``evaluate``, ``predict`` and ``export`` commands built once for every task package.

A task package's CLI is a click group plus one call::

    add_task_commands(main, "sex", task_options=[click.option("--threshold", ...)])

Options a task adds (``task_options``) reach ``Task.prepare`` by their parameter names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

from ..batch import shard_name
from ..cli.options import (
    TRAIN_OPTION_NAMES,
    apply_options,
    device_option,
    glob_option,
    handle_errors,
    on_error_option,
    shape_option,
    shard_option,
    spacing_option,
    train_options,
)

#: ``--norm`` of the classify/regress ``train``: the vt1 network's normalisation layers.
norm_option = click.option(
    "--norm",
    type=click.Choice(["instance", "batch"]),
    default=None,
    help="vt1 normalisation: instance (the reference project's) or batch [the task's default].",
)

#: Train parameters that go to the network, not to the task.
MODEL_OPTION_NAMES = ("norm",)


def _model_options(kw: dict) -> dict:
    """Network options given on the command line (the architecture's defaults fill the rest)."""
    options = {} if kw["dropout"] is None else {"dropout": kw["dropout"]}
    if kw.get("norm") is not None:
        if kw["arch"] != "vt1":
            from ..errors import BrainmriError

            raise BrainmriError(f"--norm applies to --arch vt1 only, not {kw['arch']}")
        options["norm"] = kw["norm"]
    return options


def _train_command(task_name: str, task_options: Sequence[Callable], architectures, default_arch,
                   train_defaults: dict | None = None, brain_train_defaults: dict | None = None) -> click.Command:
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
                scheduler=kw["scheduler"], patience=kw["patience"], val_every=kw["val_every"],
                accumulate=kw["accumulate"], amp=kw["amp"],
                seed=kw["seed"], augment=kw["augment"], num_workers=kw["num_workers"], monitor=kw["monitor"],
                mri_artifacts=kw["mri_artifacts"])
        except ValueError as exc:
            raise BrainmriError(str(exc)) from None
        run = run_train(
            task, kw["out"], dataset=kw["dataset"], root=kw["root"], metadata=kw["metadata"], mask_dir=kw["mask_dir"],
            arch=kw["arch"], preset=kw["preset"], spacing=kw["spacing"], shape=kw["shape"], train_config=config,
            task_options={k: v for k, v in kw.items() if k not in (*TRAIN_OPTION_NAMES, *MODEL_OPTION_NAMES)},
            model_options=_model_options(kw),
            split_file=kw["split_file"], val=kw["val"], test=kw["test"], device=kw["device"],
            cache_dir=kw["cache_dir"], progress=not kw["quiet"])
        if is_main_process():  # once, not per torchrun rank
            click.echo(f"run complete: {run.path}", err=True)

    defaults, helps = dict(train_defaults or {}), {}
    for name, brain in (brain_train_defaults or {}).items():  # unset here: train fills it for the input
        helps[name] = f"[default: {defaults[name]}; brain only (--mask-dir, default preset): {brain}]"
        defaults[name] = None
    options = [
        *train_options(architectures=architectures, default_arch=default_arch, help=helps, **defaults),
        norm_option,
        *task_options,
    ]
    command = click.command("train", short_help="Train a model and write a run folder.")
    return command(handle_errors(apply_options(options, train)))


def export_command() -> click.Command:
    """``export RUN -o FILE``: a run as one ``.bmri`` file (or ``--format onnx``); shared by every task CLI."""

    @click.command("export", short_help="A run as one file: .bmri (weights and settings) or ONNX.")
    @click.argument("run", type=click.Path(exists=True))
    @click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output file.")
    @click.option("--format", "fmt", type=click.Choice(["bmri", "onnx"]), default="bmri", show_default=True,
                  help="bmri: weights, config, pipeline, calibration, metrics, split, versions and a content "
                       "hash in one safetensors file; onnx: the network for deployment.")
    @click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True,
                  help="Which checkpoint of RUN (bmri).")
    @handle_errors
    def export(run, output, fmt, checkpoint):
        """Write RUN (a run folder; for onnx also a .bmri file) as one file.

        The .bmri file replaces the run folder in predict, evaluate and explain gradcam, also as
        a URL: --checkpoint https://host/model.bmri#sha256=<the sha256 printed here>. ONNX holds
        the network only (input: the preprocessed grid); preprocessing, decoding and, for
        segmentation, the sliding window stay in Python (see the README).
        """
        from pathlib import Path

        from ..errors import BrainmriError

        if fmt == "onnx":
            from ..export.onnx import write_onnx

            info = write_onnx(run, output)
            click.echo(f"wrote {info['path']} (input {' x '.join(map(str, info['input_shape']))})", err=True)
            return
        from ..export import write_bmri

        if Path(run).is_file():
            raise BrainmriError(f"{run}: give the run folder (a .bmri file is already exported)")
        info = write_bmri(run, output, checkpoint=checkpoint)
        click.echo(f"wrote {info['path']} ({info['tensors']} tensors) sha256={info['sha256']}", err=True)

    return export


def _evaluate_command(task_name: str) -> click.Command:
    @click.command("evaluate", short_help="Metrics of a run with 95% bootstrap intervals.")
    @click.argument("run", type=click.Path())
    @click.option("--split", "splits", multiple=True, type=click.Choice(["train", "val", "test"]),
                  help="Parts to evaluate (repeatable; default test).")
    @click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples (95% CI).")
    @click.option("--refit-calibration", is_flag=True, help="Fit calibration.json on the val split again.")
    @device_option
    @handle_errors
    def evaluate(run, splits, n_boot, refit_calibration, device):
        """Write metrics.json (with 95% bootstrap intervals) and per-subject predictions.csv for RUN.

        RUN: a run folder, a .bmri file or its URL (https://...#sha256=...); for a .bmri the
        files go to its unpacked run folder in the user cache (printed).
        """
        import json
        from pathlib import Path

        from ..export import resolve_model
        from ..wording import rounded
        from .workflow import evaluate as run_evaluate

        folder = resolve_model(run, folder=True)
        results = run_evaluate(folder, splits=splits or ("test",), device=device, n_boot=n_boot,
                               refit_calibration=refit_calibration)
        click.echo(json.dumps(rounded(results), indent=2))  # metrics.json keeps every digit
        if Path(run) != folder:
            click.echo(f"wrote {folder}/metrics.json and predictions.csv", err=True)

    return evaluate


def _predict_command(task_name: str) -> click.Command:
    @click.command("predict", short_help="Predict scans (files or folders) with a run.")
    @click.argument("run", required=False, type=click.Path())
    @click.argument("scans", nargs=-1, type=click.Path(readable=False))  # unreadable: our one-line error
    @click.option("-o", "--output", type=click.Path(dir_okay=False),
                  help="CSV file, every column at full precision (default: a table on stdout).")
    @click.option("--checkpoint", help="A raw reference checkpoint (.pth) or an exported model (.bmri) instead of "
                                       "a run folder; also a URL: https://host/FILE#sha256=<64 hex>.")
    @click.option("--arch", default="vt1", show_default=True, help="Architecture of --checkpoint.")
    @click.option("--preset", type=click.Choice(["default", "vt1"]), default="vt1", show_default=True,
                  help="Pipeline of --checkpoint.")
    @spacing_option(help="Grid of --checkpoint: voxel size in mm (X Y Z or one value).")
    @shape_option(help="Grid of --checkpoint: shape in voxels (X Y Z or one value).")
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
        """Predict SCAN... (files or folders; any orientation) with RUN (a run folder or .bmri file),
        or with --checkpoint FILE.pth --arch vt1.

        Prints a table (one row per scan, rounded, words for classes such as female/male);
        -o FILE.csv writes every column with full precision instead.
        """
        from pathlib import Path

        from ..batch import empty_share, expand_scans, take_shard
        from ..errors import BrainmriError
        from ..export import is_bmri, is_url, resolve_model
        from ..tasks import get_task
        from .predict import predict_scans
        from .rundir import RunDir

        if checkpoint is not None and run is not None:
            scans = (run, *scans)
            run = None
        if checkpoint is not None:
            checkpoint = resolve_model(checkpoint)
            if not checkpoint.is_file():
                raise BrainmriError(f"{checkpoint}: checkpoint file not found")
            if is_bmri(checkpoint):  # an exported run: read it as the run
                run, checkpoint = str(checkpoint), None
        elif run is not None and is_url(run):
            run = str(resolve_model(run))
        if run is not None and Path(run).is_file() and not is_bmri(run):  # a .pth where the run folder goes
            raise BrainmriError(f"{run}: a file, not a run folder; for a reference checkpoint give "
                                f"--checkpoint {run} --arch vt1 (and --brain for brain-only models)")
        if run is not None and not is_bmri(run):
            RunDir(run).require()
        if mask_dir and skull_strip:
            raise BrainmriError("give --mask-dir or --skull-strip, not both")
        scans = expand_scans(scans, glob)  # folders: the scans in them, as every batch command does
        if not scans:
            raise BrainmriError("no scans given")
        if truth and len(truth) != len(scans):
            raise BrainmriError(f"got {len(truth)} --true values for {len(scans)} scans; give one per scan")
        truth, scans = take_shard(truth, shard), take_shard(scans, shard)
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
            from ..wording import table

            click.echo(table(report.done))  # for people; -o FILE.csv keeps every column and digit
        report.conclude("scans")

    return predict


def add_task_commands(group: click.Group, task_name: str, task_options: Sequence[Callable] = (),
                      architectures: Sequence[str] = ("vt1", "resnet3d", "sfcn"),
                      default_arch: str = "resnet3d", train_defaults: dict | None = None,
                      brain_train_defaults: dict | None = None) -> None:
    """Add ``train``, ``evaluate``, ``predict`` and ``export`` for the registered task ``task_name`` to ``group``.

    Args:
        group: The task package's click group.
        task_name: Registry name of the task.
        task_options: Extra ``click.option`` decorators of ``train`` (passed to ``Task.prepare``).
        architectures: ``--arch`` choices.
        default_arch: ``--arch`` default.
        train_defaults: The task's own defaults of train options, e.g. ``{"epochs": 30, "batch_size": 2}``
            (names as in :data:`~brainmri.core.cli.options.TRAIN_OPTION_NAMES`).
        brain_train_defaults: Those of ``train_defaults`` that differ for brain-only input
            (``--mask-dir``), the task's ``Task.brain_train_defaults``: the options are left unset
            and ``train`` fills them for the input; ``--help`` shows both values.
    """
    group.add_command(_train_command(task_name, task_options, architectures, default_arch, train_defaults,
                                     brain_train_defaults))
    group.add_command(_evaluate_command(task_name))
    group.add_command(_predict_command(task_name))
    group.add_command(export_command())
