"""Pieces every brainmri command shares: options, batch running with --on-error, errors."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import click

from ..errors import BrainmriError

T = TypeVar("T")
R = TypeVar("R")

device_option = click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.",
)
on_error_option = click.option(
    "--on-error",
    type=click.Choice(["fail", "skip"]),
    default="fail",
    show_default=True,
    help="fail: stop at the first bad input (exit 1). skip: report it, go on with the rest.",
)


def echo_error(message: str) -> None:
    """Print one error line to stderr."""
    click.echo(f"error: {message}", err=True)


def handle_errors(func: Callable) -> Callable:
    """Turn :class:`BrainmriError` into one line on stderr and exit code 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BrainmriError as exc:
            echo_error(str(exc))
            sys.exit(1)

    return wrapper


@dataclass
class BatchReport:
    """What a batch command did: results per input and the inputs it skipped."""

    done: list = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def echo_summary(self, what: str = "inputs") -> None:
        """Print ``N done, M skipped`` and one line per skipped input."""
        click.echo(f"{len(self.done)} {what} done, {len(self.skipped)} skipped", err=True)
        for name, problem in self.skipped:
            click.echo(f"  skipped {name}: {problem}", err=True)


def run_batch(
    items: Iterable[T],
    func: Callable[[T], R],
    on_error: str = "fail",
    desc: str = "",
    name: Callable[[T], str] = str,
) -> BatchReport:
    """Apply ``func`` to each item with a progress bar and the ``--on-error`` policy.

    Expected bad input (:class:`BrainmriError`) gives one line naming the item; with
    ``skip`` the batch goes on and the item is listed in the report, with ``fail`` the
    error propagates (and :func:`handle_errors` turns it into exit code 1).
    """
    from tqdm.auto import tqdm

    items = list(items)
    report = BatchReport()
    bar = tqdm(items, desc=desc, unit="scan", disable=len(items) < 2 or not sys.stderr.isatty(), file=sys.stderr)
    for item in bar:
        try:
            report.done.append(func(item))
        except BrainmriError as exc:
            if on_error == "fail":
                raise
            echo_error(str(exc))
            report.skipped.append((name(item), exc.problem if hasattr(exc, "problem") else str(exc)))
    return report


def expand_scans(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Scan files from arguments: files as given, folders searched recursively for scans.

    A folder holding no scan file is kept as it is, so the batch reports it (one error line,
    ``--on-error`` applies) instead of silently doing nothing.
    """
    from ..io import is_scan_path

    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and is_scan_path(f)) or [p])
        else:
            out.append(p)
    return out
