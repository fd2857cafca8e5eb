"""The batch QC page: one ``report.html`` with one row per scan, its mosaic and its QC numbers.

The page is self-contained: the HTML holds the CSS, the JavaScript (sort, filter, paginate,
rate, export the ratings as CSV) and the rows as JSON; the pictures sit in a folder beside it
(:data:`FILES_DIR`), referenced by relative paths, loaded lazily. Nothing is fetched from the
network, so the page works opened from disk, copied elsewhere with its folder, or offline.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

#: The folder beside a page that holds its pictures (and viewer data).
FILES_DIR = "report_files"
#: The page's name in a batch's output folder.
PAGE_NAME = "report.html"


@dataclass(frozen=True)
class Column:
    """One QC number (or text) shown for every scan.

    Attributes:
        key: Key of the value in :attr:`Row.values`.
        label: Column header.
        kind: ``number`` (right-aligned, sorted numerically, shown with ``digits`` decimals) or ``text``.
        digits: Decimals shown.
        help: Tooltip of the header.
    """

    key: str
    label: str
    kind: str = "number"
    digits: int = 1
    help: str = ""


@dataclass
class Row:
    """One scan of a batch.

    Attributes:
        scan: Name shown and used in the ratings CSV (unique in the page).
        file: The input file.
        values: Values by :attr:`Column.key` (None or NaN: blank).
        flags: Problems found; flagged scans come first.
        image: The scan's mosaic (PNG), or None.
        viewer: The scan's viewer data (see :mod:`brainmri.core.report.viewer`), or None.
    """

    scan: str
    file: str
    values: dict[str, Any] = field(default_factory=dict)
    flags: Sequence[str] = ()
    image: Path | None = None
    viewer: Path | None = None


def files_dir(page: str | os.PathLike) -> Path:
    """The picture folder of a page: ``report.html`` -> ``report_files/``; other names get their own."""
    page = Path(page)
    return page.parent / (FILES_DIR if page.name == PAGE_NAME else f"{page.stem}_files")


def picture_path(folder: str | os.PathLike, scan: str | os.PathLike) -> Path:
    """``FOLDER/<scan_stem>.png``: a scan's mosaic on a QC page."""
    from ..io import scan_stem

    return Path(folder) / f"{scan_stem(scan)}.png"


def scan_files(folder: str | os.PathLike, scan: str | os.PathLike) -> dict[str, Path | None]:
    """``{"image": <stem>.png, "viewer": <stem>.js}`` of a scan in a page's folder (None where absent):
    keyword arguments of :class:`Row`."""
    from .viewer import viewer_path

    found = {"image": picture_path(folder, scan), "viewer": viewer_path(folder, scan)}
    return {k: (v if v.is_file() else None) for k, v in found.items()}


def _static(name: str) -> str:
    return (files("brainmri.core.report") / "static" / name).read_text(encoding="utf-8")


def _json_value(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else None


def _relative(path: Path | None, page: Path) -> str | None:
    if path is None:
        return None
    return Path(os.path.relpath(Path(path).resolve(), page.parent.resolve())).as_posix()


def _script_json(data: Any) -> str:
    # Inside <script>, "</script" or "<!--" would change how the element parses: "<" is written
    # as its JSON escape, which JSON.parse reads back unchanged.
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


def write_batch_page(
    path: str | os.PathLike,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Row],
    note: str = "",
    image_label: str = "mosaic",
    page_size: int = 50,
) -> Path:
    """Write a batch's QC page (atomically).

    Args:
        path: The HTML file (usually ``OUT/report.html``).
        title: Page title.
        columns: The QC numbers shown for each scan.
        rows: One :class:`Row` per scan; values of numeric columns may be strings (as read from
            a CSV).
        note: A paragraph under the title (what the numbers mean, the flags' thresholds).
        image_label: Header of the picture column.
        page_size: Rows per page (pages keep a 1,000-scan batch fast).

    Returns:
        The written path.
    """
    from ..atomic import write_text_atomic

    path = Path(path)
    rows = list(rows)
    spec: dict[str, Any] = {
        "title": title,
        "columns": [
            {"key": c.key, "label": c.label, "kind": c.kind, "digits": c.digits, "help": c.help} for c in columns
        ],
        "rows": [
            {
                "scan": r.scan,
                "file": str(r.file),
                "flags": [str(f) for f in r.flags if f],
                "values": [
                    _json_value(r.values.get(c.key))
                    if c.kind == "number"
                    else ("" if r.values.get(c.key) is None else str(r.values.get(c.key)))
                    for c in columns
                ],
                "image": _relative(r.image, path),
                "viewer": _relative(r.viewer, path),
            }
            for r in rows
        ],
        "page_size": int(page_size),
        "image_label": image_label,
        "ratings_name": f"{path.stem}_ratings.csv",
    }
    flagged = sum(1 for r in rows if any(r.flags))
    viewer = ""
    if any(r.viewer for r in rows):
        from .viewer import viewer_tags

        viewer = viewer_tags(path)
    text = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{_static("report.css")}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="note">{len(rows)} scans, {flagged} flagged (red bar; listed first). {html.escape(note)}</p>
<p class="note">Pictures: neurological convention, the patient's left (L) on the left of the axial and
coronal views; letters name every side. Click a column to sort, type to filter, rate each scan and
export the ratings as CSV.</p>
<div class="controls">
<input id="filter" type="search" placeholder="filter by name or flag" size="28">
<label><input id="flagged-first" type="checkbox" checked> flagged first</label>
<label><input id="flagged-only" type="checkbox"> flagged only</label>
<button id="prev" type="button">&larr; previous</button><span id="page"></span>
<button id="next" type="button">next &rarr;</button>
<span id="rated"></span><button id="export" type="button">export ratings (CSV)</button>
</div>
<table class="qc"><thead><tr id="head"></tr></thead><tbody id="rows"></tbody></table>
<script type="application/json" id="report-data">{_script_json(spec)}</script>
<script>
{_static("report.js")}
</script>
{viewer}
</body>
</html>
"""
    write_text_atomic(path, text)
    return path


__all__ = ["FILES_DIR", "PAGE_NAME", "Column", "Row", "files_dir", "picture_path", "scan_files", "write_batch_page"]
