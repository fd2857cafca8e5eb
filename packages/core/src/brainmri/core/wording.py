"""Words in messages: counts with their noun in the right number."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """``n`` followed by ``noun`` in the singular or plural: ``1 scan``, ``2 scans``, ``0 scans``.

    Args:
        n: The count.
        noun: The noun in either number (``scan`` or ``scans``); a regular plural (``-s``)
            is assumed.
    """
    singular = noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun
    return f"{n} {singular if n == 1 else singular + 's'}"
