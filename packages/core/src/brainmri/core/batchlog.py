"""One log line per finished item when nobody watches a progress bar (cluster jobs, pipes).

With stderr on a terminal, batch commands show a progress bar. Written to a file (a SLURM or
SGE job's log, ``2> log``, a pipe), a bar is either absent or one unreadable line; there each
finished item gets a line instead: position, name, seconds and the command's key figure::

    skullstrip 3/146 sub-003_T1w.nii.gz: 11.8 s, brain 1512 cm3
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def wants_lines(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default stderr) is not a terminal, so log lines replace the bar."""
    stream = sys.stderr if stream is None else stream
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return True


class ItemLog:
    """Times items and prints one line per finished item.

    Args:
        what: The command (``skullstrip``), first word of each line.
        total: Number of items.
        stream: Where lines go (default stderr).
    """

    def __init__(self, what: str, total: int, stream: TextIO | None = None):
        self.what = what
        self.total = total
        self.stream = stream
        self._start = time.perf_counter()

    def start(self) -> None:
        """Start timing the next item."""
        self._start = time.perf_counter()

    def done(self, position: int, name: str, figure: str = "") -> str:
        """Print ``<what> <position>/<total> <name>: <seconds> s[, figure]`` and return it.

        Args:
            position: 1-based position of the item.
            name: The item (file name).
            figure: The key figure (``brain 1512 cm3``, ``p(female) 0.95``), if any.
        """
        seconds = time.perf_counter() - self._start
        line = f"{self.what} {position}/{self.total} {name}: {seconds:.1f} s" + (f", {figure}" if figure else "")
        print(line, file=self.stream if self.stream is not None else sys.stderr, flush=True)
        return line


def row_figure(_item, row, keys: tuple[str, ...] | None = None, limit: int = 3) -> str:
    """The key figure of a result row for :meth:`ItemLog.done`: its first numbers, rounded.

    Args:
        _item: The batch item (unused; the signature of ``run_batch``'s ``figure``).
        row: A result dict (``{"file": ..., "prob_female": 0.9512..., ...}``); other results
            give an empty figure.
        keys: Fields to show (default: the first ``limit`` numeric fields).
        limit: How many fields at most.

    Returns:
        ``prob_female 0.951, pred_sex female``-style text (a code's ``<key>_label`` word when the
        row has one).
    """
    if not isinstance(row, dict):
        return ""
    names = keys or [k for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    parts = []
    for key in names[:limit]:
        value = row.get(key)
        if isinstance(value, float):
            if value == value:  # NaN: not reported
                parts.append(f"{key} {value:.4g}")
        elif value is not None:
            parts.append(f"{key} {row.get(f'{key}_label', value)}")  # words for codes: pred_sex female
    return ", ".join(parts)
