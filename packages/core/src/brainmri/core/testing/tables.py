"""Reading back the text tables commands print (:func:`brainmri.core.wording.table`) in tests."""

from __future__ import annotations


def parse_table(text: str) -> list[dict[str, str]]:
    """The rows of an aligned text table: ``{header: cell}`` per line after the header.

    Columns are the spans between runs of two or more positions blank on every line (cells
    hold no double space; a blank cell reads as ``""``).

    Args:
        text: The table (lines that are not part of it must be removed first).
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    width = max(map(len, lines))
    padded = [line.ljust(width) for line in lines]
    blank = [all(line[i] == " " for line in padded) for i in range(width)]
    spans, start, i = [], 0, 0
    while i < width:
        if blank[i] and i + 1 < width and blank[i + 1]:
            end = i
            while i < width and blank[i]:
                i += 1
            spans.append((start, end))
            start = i
        else:
            i += 1
    spans.append((start, width))
    spans = [(a, b) for a, b in spans if b > a]
    headers = [padded[0][a:b].strip() for a, b in spans]
    return [{h: line[a:b].strip() for h, (a, b) in zip(headers, spans)} for line in padded[1:]]
