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
        from .wording import counted

        print(f"{counted(len(self.done), what)} done, {len(self.skipped)} skipped", file=sys.stderr)
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
    figure: Callable[[T, R], str] | None = None,
    log_lines: bool = True,
) -> BatchReport:
    """Apply ``func`` to each item with a progress bar and the ``--on-error`` policy.

    Expected bad input (:class:`BrainmriError`) gives one line naming the item; with
    ``skip`` the batch goes on and the item is listed in the report, with ``fail`` the
    error propagates (and :func:`brainmri.core.cli.options.handle_errors` turns it into exit code 1). Without a
    terminal on stderr (a cluster job's log), each finished item gets one line instead of
    the bar: position, file name, seconds and ``figure(item, result)`` (see
    :mod:`brainmri.core.batchlog`); ``log_lines=False`` for commands whose output is
    already one block per item.
    """
    from tqdm.auto import tqdm

    from .batchlog import ItemLog, wants_lines

    items = list(items)
    report = BatchReport()
    bar = tqdm(items, desc=desc, unit="scan", disable=len(items) < 2 or not sys.stderr.isatty(), file=sys.stderr)
    log = ItemLog(desc or "item", len(items)) if log_lines and wants_lines() else None
    for position, item in enumerate(bar, start=1):
        try:
            if log:
                log.start()
            report.done.append(func(item))
            if log:
                log.done(position, Path(name(item)).name, figure(item, report.done[-1]) if figure else "")
        except BrainmriError as exc:
            if on_error == "fail":
                raise
            print(f"error: {exc}", file=sys.stderr)
            report.skipped.append((name(item), exc.problem if hasattr(exc, "problem") else str(exc)))
    return report


def expand_scans(paths: Iterable[str | os.PathLike], glob: str | None = None, skip_labels: bool = True) -> list[Path]:
    """Scan files from arguments: files as given, folders searched recursively for scans.

    A folder holding no scan file is kept as it is, so the batch reports it (one error line,
    ``--on-error`` applies) instead of silently doing nothing. Masks and label maps found in
    folders are skipped with one note each (see :func:`brainmri.core.scanfiles.find_scans`).
    """
    from .scanfiles import find_scans

    found = find_scans(paths, glob=glob, skip_labels=skip_labels)
    for path, why in found.skipped:
        print(f"note: skipped {path}: a mask or label map ({why}); name the file to process it", file=sys.stderr)
    for path, why in found.flagged:
        print(f"note: {path} looks like a mask or label map ({why}); processing it as named", file=sys.stderr)
    return found.files


def shard_scans(
    paths: Iterable[str | os.PathLike], shard: tuple[int, int] | None, glob: str | None = None
) -> list[Path]:
    """The scans of share ``shard`` among the arguments ``paths`` (folders expanded, ``glob``
    filtering what folders give).

    The prologue of every sharded batch command. An empty list means the share got no scans
    (more shares than scans; said on stderr): the command has nothing to do.
    """
    scans = take_shard(expand_scans(paths, glob=glob), shard)
    empty_share(scans, shard)
    return scans
