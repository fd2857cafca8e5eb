"""Words in messages: counts with their noun in the right number."""

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
