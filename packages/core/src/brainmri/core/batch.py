"""Batch engine of every command that processes many scans: scan expansion, sharding, --on-error.

No click here: a library call (``run_batch(scans, func, on_error="skip")``) gets the same
policy as the command line. Messages go to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .errors import BrainmriError

T = TypeVar("T")
R = TypeVar("R")


def take_shard(items: Iterable[T], shard: tuple[int, int] | None) -> list[T]:
    """The items of share ``shard = (I, N)``: the I-th (1-based) and every N-th after it."""
    items = list(items)
    return items if shard is None else items[shard[0] - 1 :: shard[1]]


def empty_share(items: list, shard: tuple[int, int] | None) -> bool:
    """True (after saying so on stderr) when share ``shard`` got no scans: more shares than scans."""
    if items or shard is None:
        return False
    print(f"share {shard[0]}/{shard[1]} has no scans", file=sys.stderr)
    return True


def shard_name(name: str, shard: tuple[int, int] | None) -> str:
    """``name`` of a per-run table for share ``shard``: ``a.csv`` -> ``a.shard2of4.csv``."""
    if shard is None:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.shard{shard[0]}of{shard[1]}{dot}{ext}" if dot else f"{name}.shard{shard[0]}of{shard[1]}"


@dataclass
class BatchReport:
    """What a batch command did: results per input and the inputs it skipped."""

    done: list = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def echo_summary(self, what: str = "inputs") -> None:
        """Print ``N done, M skipped`` and one line per skipped input."""
        print(f"{len(self.done)} {what} done, {len(self.skipped)} skipped", file=sys.stderr)
        for name, problem in self.skipped:
            print(f"  skipped {name}: {problem}", file=sys.stderr)

    def conclude(self, what: str = "inputs") -> None:
        """:meth:`echo_summary`, then exit code 1 when inputs were skipped and none was done."""
        self.echo_summary(what)
        if self.skipped and not self.done:
            sys.exit(1)


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
    error propagates (and :func:`brainmri.core.cli.options.handle_errors` turns it into exit
    code 1).
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
            print(f"error: {exc}", file=sys.stderr)
            report.skipped.append((name(item), exc.problem if hasattr(exc, "problem") else str(exc)))
    return report


def expand_scans(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Scan files from arguments: files as given, folders searched recursively for scans.

    A folder holding no scan file is kept as it is, so the batch reports it (one error line,
    ``--on-error`` applies) instead of silently doing nothing.
    """
    from .io import is_scan_path

    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and is_scan_path(f)) or [p])
        else:
            out.append(p)
    return out


def shard_scans(paths: Iterable[str | os.PathLike], shard: tuple[int, int] | None) -> list[Path]:
    """The scans of share ``shard`` among the arguments ``paths`` (folders expanded).

    The prologue of every sharded batch command. An empty list means the share got no scans
    (more shares than scans; said on stderr): the command has nothing to do.
    """
    scans = take_shard(expand_scans(paths), shard)
    empty_share(scans, shard)
    return scans
