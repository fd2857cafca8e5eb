"""Click options and error handling shared by every brainmri command.

One grammar everywhere: ``--shape X Y Z`` (or one value for all axes), ``--spacing`` (mm,
one or three values), ``--device``, ``--on-error skip|fail``, ``--shard I/N``. Task packages
build their commands from these (and from :func:`train_options`) instead of declaring their own.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any

import click

from ..errors import BrainmriError

__all__ = [
    "TRAIN_OPTION_NAMES",
    "TripleOption",
    "apply_options",
    "device_option",
    "echo_error",
    "glob_option",
    "handle_errors",
    "on_error_option",
    "report_option",
    "shape_option",
    "shard_option",
    "spacing_option",
    "train_options",
    "triple",
    "triple_option",
]


def _parse_device(ctx, param, value):
    from ..devices import parse_device

    try:
        return parse_device(value)
    except BrainmriError as exc:
        raise click.BadParameter(str(exc)) from None


device_option = click.option(
    "--device",
    default="auto",
    show_default=True,
    callback=_parse_device,
    help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.",
)
on_error_option = click.option(
    "--on-error",
    type=click.Choice(["fail", "skip"]),
    default="fail",
    show_default=True,
    help="fail: stop at the first bad input (exit 1). skip: report it, go on with the rest.",
)


glob_option = click.option(
    "--glob",
    metavar="PATTERN",
    default=None,
    help="Only files in folder arguments whose path matches PATTERN (from the right, e.g. "
    "'*_T1w.nii.gz' or 'sub-*/anat/*.nii.gz'; quote it). Files named explicitly are always "
    "taken. Masks and label maps in folders are skipped with a note either way.",
)

report_option = click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="Write OUT/report.html, the batch's QC page (one row per scan: picture, QC numbers, flagged "
    "first, ratings exported as CSV), with its pictures in OUT/report_files/.",
)


def _parse_shard(ctx, param, value):
    if value is None:
        return None
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give I/N, e.g. 2/4 for the second of four shares") from None
    if count < 1 or not 1 <= index <= count:
        raise click.BadParameter(f"{value!r}: need 1 <= I <= N")
    return index, count


shard_option = click.option(
    "--shard",
    callback=_parse_shard,
    metavar="I/N",
    help="Process only share I of N of the scans (the I-th, then every N-th after it), e.g. one "
    "process per GPU or machine: run I = 1..N with the same arguments and output folder. "
    "Outputs are the same as one process's; tables get a .shardIofN suffix.",
)


def triple(ctx, param, value) -> tuple | None:
    """Click callback: one value or three -> ``(x, y, z)``; nothing given -> None."""
    if value is None or len(value) == 0:
        return None
    if len(value) not in (1, 3):
        raise click.BadParameter("give one value or three (X Y Z)")
    return tuple(value) * (3 // len(value))


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


class TripleOption(click.Option):
    """An option taking one value or three: ``--shape 48`` or ``--shape 48 48 48``.

    The two numbers following the first are taken too (repeating the option,
    ``--shape 48 --shape 48 --shape 48``, still works); the value reaches the command as an
    ``(x, y, z)`` tuple, or None when the option is not given.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["multiple"] = True
        kwargs.setdefault("callback", triple)
        kwargs.setdefault("metavar", "X [Y Z]")
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser, ctx) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            parsed = parser._long_opt.get(name) or parser._short_opt.get(name)
            if parsed is None:
                continue
            process = parsed.process

            def process_more(value, state, process=process):
                process(value, state)
                for _ in range(2):  # the Y and Z of "--shape X Y Z"
                    if not (state.rargs and _is_number(state.rargs[0])):
                        break
                    process(state.rargs.pop(0), state)

            parsed.process = process_more


def triple_option(*decls: str, type=int, **kwargs: Any) -> Callable:
    """A :class:`TripleOption` (``type``: int or float)."""
    return click.option(*decls, cls=TripleOption, type=type, **kwargs)


def shape_option(*decls: str, help: str = "Grid shape in voxels: X Y Z, or one value for all axes.") -> Callable:
    """``--shape X Y Z`` (or one value); extra ``decls`` add aliases such as ``--patch-size``."""
    return triple_option("--shape", *decls, type=int, help=help)


def spacing_option(help: str = "Voxel size in mm: X Y Z, or one value (isotropic).") -> Callable:
    """``--spacing X Y Z`` (or one value), in mm."""
    return triple_option("--spacing", type=float, help=help)


def echo_error(message: str) -> None:
    """Print one error line to stderr."""
    click.echo(f"error: {message}", err=True)


def handle_errors(func: Callable) -> Callable:
    """Turn :class:`BrainmriError` into one line on stderr and exit code 1 (no traceback);
    Python warnings become one ``warning:`` line each (:mod:`brainmri.core.warnlines`)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..warnlines import clean_warnings

        try:
            with clean_warnings():
                return func(*args, **kwargs)
        except BrainmriError as exc:
            echo_error(str(exc))
            sys.exit(1)

    return wrapper


def _train_option_table(datasets: Iterable[str], architectures: Iterable[str], default_arch: str) -> dict:
    datasets = list(datasets)
    root_type = click.Path(exists=True) if "table" in datasets else click.Path(exists=True, file_okay=False)
    return {
        "dataset": (
            ("--dataset",),
            {
                "type": click.Choice(datasets),
                "help": "Layout of --root (table: a CSV/TSV with image and target columns). [required unless --resume]",
            },
        ),
        "root": (
            ("--root",),
            {"type": root_type, "help": "Dataset folder (or the table file). [required unless --resume]"},
        ),
        "metadata": (("--metadata",), {"type": click.Path(exists=True), "help": "Demographics file (IXI.xls/CSV...)."}),
        "mask_dir": (
            ("--mask-dir",),
            {
                "type": click.Path(exists=True, file_okay=False),
                "help": "Brain masks: train on brain-extracted input (scan x mask).",
            },
        ),
        "out": (
            ("-o", "--out"),
            {"type": click.Path(), "help": "Run folder to create. [required unless --resume]"},
        ),
        "resume": (
            ("--resume",),
            {
                "type": click.Path(exists=True, file_okay=False),
                "help": "Continue this run from its last checkpoint (other options come from its config).",
            },
        ),
        "arch": (
            ("--arch",),
            {"type": click.Choice(list(architectures)), "default": default_arch, "show_default": True},
        ),
        "preset": (
            ("--preset",),
            {
                "type": click.Choice(["default", "vt1"]),
                "default": "default",
                "show_default": True,
                "help": "Pipeline preset (vt1: the reference project's preprocessing).",
            },
        ),
        "spacing": (
            ("--spacing",),
            {
                "cls": TripleOption,
                "type": float,
                "help": "Voxel size in mm: X Y Z, or one value (isotropic) [planned from the data and the device: "
                "the finest whose grid covers the heads within the device's budget, e.g. 4 mm on CPU, 2 mm on CUDA].",
            },
        ),
        "shape": (
            ("--shape",),
            {
                "cls": TripleOption,
                "type": int,
                "help": "Grid shape in voxels: X Y Z, or one value for all axes [planned: the median field of view "
                "at that voxel size].",
            },
        ),
        "epochs": (("--epochs",), {"type": int, "default": 20, "show_default": True}),
        "batch_size": (("--batch-size",), {"type": int, "default": 8, "show_default": True, "help": "Per process."}),
        "lr": (("--lr",), {"type": float, "default": 1e-3, "show_default": True}),
        "weight_decay": (("--weight-decay",), {"type": float, "default": 1e-4, "show_default": True}),
        "scheduler": (
            ("--scheduler",),
            {"type": click.Choice(["cosine", "plateau", "none"]), "default": "cosine", "show_default": True},
        ),
        "patience": (
            ("--patience",),
            {"type": int, "default": 10, "show_default": True, "help": "Early stopping (0: off)."},
        ),
        "val_every": (
            ("--val-every",),
            {
                "type": int,
                "default": 1,
                "show_default": True,
                "help": "Validate every N epochs and at the last (the best checkpoint is among them).",
            },
        ),
        "accumulate": (
            ("--accumulate",),
            {"type": int, "default": 1, "show_default": True, "help": "Gradient accumulation steps."},
        ),
        "amp": (
            ("--amp",),
            {
                "type": click.Choice(["auto", "bf16", "off"]),
                "default": "auto",
                "show_default": True,
                "help": "auto: bf16 autocast on CUDA only. bf16 on a CPU with native bf16 (AVX512-BF16, AMX): about "
                "1.5x faster training, not cross-validated as a default (`train` prints a plan: line on such a CPU).",
            },
        ),
        "augment": (("--augment/--no-augment",), {"default": True, "show_default": True}),
        "mri_artifacts": (
            ("--mri-artifacts",),
            {
                "is_flag": True,
                "help": "Add TorchIO's MRI artifacts to training batches after the resample: motion, ghosting, "
                "spikes, bias field, blur, anisotropy (probabilities in config.json; labels untouched; "
                "needs brainmri-core[torchio]).",
            },
        ),
        "dropout": (
            ("--dropout",),
            {"type": float, "default": None, "help": "Dropout before the head (architecture default)."},
        ),
        "monitor": (("--monitor",), {"default": None, "help": "Metric for the best checkpoint (default: the task's)."}),
        "device": None,
        "seed": (("--seed",), {"type": int, "default": 0, "show_default": True}),
        "split_file": (
            ("--split-file",),
            {
                "type": click.Path(exists=True, dir_okay=False),
                "help": "Split JSON (brainmri-core split); default: a seeded stratified split.",
            },
        ),
        "val": (("--val",), {"type": float, "default": 0.15, "show_default": True}),
        "test": (("--test",), {"type": float, "default": 0.15, "show_default": True}),
        "num_workers": (
            ("--num-workers",),
            {"type": int, "default": 0, "show_default": True, "help": "Decoding worker processes."},
        ),
        "cache_dir": (("--cache-dir",), {"type": click.Path(file_okay=False), "help": "Disk cache of decoded scans."}),
        "quiet": (("--quiet",), {"is_flag": True, "help": "No progress bars."}),
    }


#: Parameter names of the options every ``train`` command may take (the rest are task options).
TRAIN_OPTION_NAMES = tuple(_train_option_table(["ixi"], ["x"], "x"))


def train_options(
    datasets: Iterable[str] = ("ixi", "adni", "msd", "table", "bids"),
    architectures: Iterable[str] = ("vt1", "resnet3d", "sfcn"),
    default_arch: str = "resnet3d",
    exclude: Iterable[str] = (),
    help: dict[str, str] | None = None,
    **defaults: Any,
) -> list[Callable]:
    """The options of a ``train`` command, as ``click.option`` decorators in ``--help`` order.

    Args:
        datasets: ``--dataset`` choices.
        architectures: ``--arch`` choices.
        default_arch: ``--arch`` default.
        exclude: Parameter names (see :data:`TRAIN_OPTION_NAMES`) the command does not take.
        help: New help texts by parameter name.
        **defaults: New defaults by parameter name, e.g. ``epochs=100, patience=20``.

    Returns:
        The decorators; apply them with :func:`apply_options`.
    """
    table = _train_option_table(datasets, architectures, default_arch)
    unknown = (set(defaults) | set(help or {}) | set(exclude)) - set(table)
    if unknown:
        raise ValueError(f"not train options: {sorted(unknown)}")
    options = []
    for name, spec in table.items():
        if name in exclude:
            continue
        if spec is None:  # the shared --device
            options.append(device_option)
            continue
        decls, kwargs = spec
        kwargs = dict(kwargs)
        if name in defaults:
            kwargs["default"] = defaults[name]
        if help and name in help:
            kwargs["help"] = help[name]
        options.append(click.option(*decls, name, **kwargs))
    return options


def apply_options(options: Iterable[Callable], func: Callable) -> Callable:
    """``func`` decorated with ``options`` (the first is the first in ``--help``)."""
    for option in reversed(list(options)):
        func = option(func)
    return func
