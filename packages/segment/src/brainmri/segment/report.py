"""The ``predict`` batch's QC page (``report.html``): each scan's outlines and hippocampus volumes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from brainmri.core.batch import BatchReport
from brainmri.core.report import Column, Row, picture_path, write_batch_page

from .predict import side_mismatches


def row_flags(row: Mapping, classes: Mapping[int, str]) -> list[str]:
    """Problems of one predicted scan: an empty class, a side label on the wrong side of the head."""
    flags = [f"no {name} label" for name in classes.values() if not float(row.get(f"{name}_mm3") or 0)]
    return flags + side_mismatches(row, classes)


def write_predict_page(page: str | os.PathLike, report: BatchReport, classes: Mapping[int, str],
                       pictures: str | os.PathLike) -> Path:
    """Write the QC page of a ``predict`` batch: a row per segmented scan, one per skipped scan.

    Args:
        page: The HTML file.
        report: What :func:`~brainmri.segment.predict.predict_scans` returned (rows as in the
            volume table).
        classes: ``{label value: name}`` of the run.
        pictures: The folder given to ``predict_scans(pictures=...)``.
    """
    columns = [Column(f"{name}_mm3", f"{name} mm3", digits=0, help=f"volume of the {name} label") for name in
               classes.values()]
    if {"left", "right"} <= set(classes.values()):
        columns += [Column(f"{name}_side", f"{name} lies", kind="text",
                           help="side of the head's midline (world x) where the label's centre lies")
                    for name in ("left", "right")]
    rows = []
    for row in report.done:
        picture = picture_path(pictures, row["file"])
        rows.append(Row(Path(row["file"]).name, row["file"], row, row_flags(row, classes),
                        picture if picture.is_file() else None))
    rows += [Row(Path(name).name, name, {}, [f"skipped: {problem}"]) for name, problem in report.skipped]
    note = ("Predicted outlines (red: left, blue: right) through the hippocampi. Flags: an empty label, "
            "or a label whose centre lies on the other side of the head's midline.")
    return write_batch_page(page, "Hippocampus segmentation QC", columns, rows, note=note)
