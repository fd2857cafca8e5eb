"""The ``gradcam`` batch's QC page (``report.html``): each scan's montage, target and brain share."""

from __future__ import annotations

import math
import os
from pathlib import Path

from brainmri.core.batch import BatchReport
from brainmri.core.report import Column, Row, files_dir, scan_files, write_batch_page

#: Below this share of positive attribution inside the brain mask, a scan is flagged.
MIN_INSIDE_FRACTION = 0.5

COLUMNS = (
    Column("target", "explained", kind="text", help="the output the map explains"),
    Column("score", "score", digits=3, help="the model's output for that target"),
    Column(
        "inside_fraction",
        "inside brain",
        digits=3,
        help="share of the positive attribution inside the brain mask (with --mask-dir)",
    ),
    Column("outside_fraction", "outside brain", digits=3),
)


def row_flags(row: dict) -> list[str]:
    """``mostly outside the brain`` when less than :data:`MIN_INSIDE_FRACTION` of the map is inside."""
    inside = row.get("inside_fraction")
    if isinstance(inside, float) and not math.isnan(inside) and inside < MIN_INSIDE_FRACTION:
        return [f"mostly outside the brain ({inside:.0%} inside)"]
    return []


def write_gradcam_page(page: str | os.PathLike, report: BatchReport, method: str = "gradcam") -> Path:
    """Write the QC page of an explain batch: a row per scan (its montage, and its NiiVue view when
    ``explain_scans`` wrote viewer data into the page's folder), one per skipped scan."""
    folder = files_dir(page)
    rows = [
        Row(
            Path(r["file"]).name,
            r["file"],
            r,
            row_flags(r),
            Path(r["montage"]) if r.get("montage") else None,
            scan_files(folder, r["file"])["viewer"],
        )
        for r in report.done
    ]
    rows += [Row(Path(name).name, name, {}, [f"skipped: {problem}"]) for name, problem in report.skipped]
    note = (
        f"{method} maps over the model's input, through the planes holding most of the map. Flag: less than "
        f"{MIN_INSIDE_FRACTION:.0%} of the positive attribution inside the brain mask (with --mask-dir)."
    )
    return write_batch_page(page, f"{method} QC", COLUMNS, rows, note=note, image_label="montage")
