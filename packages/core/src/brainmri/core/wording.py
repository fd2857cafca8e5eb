"""Words in messages: counts with their noun in the right number, durations, rounded figures, tables."""

from __future__ import annotations

import math


def counted(n: int, noun: str) -> str:
    """``n`` followed by ``noun`` in the singular or plural: ``1 scan``, ``2 scans``, ``0 scans``.

    Args:
        n: The count.
        noun: The noun in either number (``scan`` or ``scans``); a regular plural (``-s``)
            is assumed.
    """
    singular = noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun
    return f"{n} {singular if n == 1 else singular + 's'}"


def duration(seconds: float) -> str:
    """A duration for people: ``8.2 s``, ``3 min 05 s``, ``2 h 07 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def rounded(value, decimals: int = 4):
    """``value`` with every float rounded to ``decimals`` places, for people to read.

    ``0.9512384123456789`` -> ``0.9512``, ``45.123456`` -> ``45.1235``; numbers below
    ``10**-decimals`` keep three significant digits (``1.23456e-06`` -> ``1.23e-06``). Fixed
    places keep differences exact to the last place (a brain-age gap still equals the
    predicted minus the true age). Dicts, lists and tuples are rounded inside (a copy); other
    values unchanged. Files keep full precision; this is for what a terminal shows.
    """
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or value == 0:
            return value
        return round(value, max(decimals, 2 - math.floor(math.log10(abs(value)))))
    if isinstance(value, dict):
        return {k: rounded(v, decimals) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(rounded(v, decimals) for v in value)
    return value


def table(rows: list[dict], columns: list[str] | None = None, decimals: int = 3) -> str:
    """Rows as an aligned text table for a terminal: a header line, then one line per row.

    Floats are rounded (:func:`rounded`), None is blank and numbers are right-aligned. A column
    ``<name>_label`` holds the words for the codes of ``<name>`` (``pred_sex_label``: ``female``
    for ``pred_sex`` 1): the table shows the words under the code's header and leaves the codes
    to the CSV file.

    Args:
        rows: Dicts (missing keys are blank).
        columns: Keys to show, in order; default every key, in first-seen order.
        decimals: Decimal places of floats.

    Returns:
        The table, lines joined by newlines (no trailing newline).
    """
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    words = {c[: -len("_label")] for c in columns if c.endswith("_label")}
    shown = [c for c in columns if c not in words]
    headers = [c[: -len("_label")] if c.endswith("_label") and c[: -len("_label")] in words else c for c in shown]

    def cell(value) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, float):
            value = rounded(value, decimals)
            return f"{value:.{decimals}f}" if abs(value) >= 10**-decimals else f"{value:.3g}"
        return str(value)

    cells = [[cell(row.get(c)) for c in shown] for row in rows]
    numeric = [all(_is_number(row.get(c)) for row in rows if row.get(c) not in (None, "")) for c in shown]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(r) for r in cells)])


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
