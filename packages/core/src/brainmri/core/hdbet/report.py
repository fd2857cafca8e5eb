"""The skull-strip batch's QC page (``report.html``): every scan's mask mosaic and QC numbers."""

from __future__ import annotations

import os
from pathlib import Path

from ..io import scan_stem
from ..report.page import Column, Row, scan_files, write_batch_page
from .batch import SkullstripSummary, read_report
from .qc import MAX_ASYMMETRY, MAX_BORDER_FRACTION, VOLUME_RANGE_CM3

#: The QC numbers of ``skullstrip.csv`` shown on the page.
COLUMNS = (
    Column("brain_cm3", "brain cm3", digits=0, help="mask volume"),
    Column("lr_asymmetry", "asymmetry", digits=3, help="|L - R| / (L + R) about the head's midline"),
    Column("components", "components", digits=0, help="connected pieces of the network's output"),
    Column(
        "border_fraction", "border fraction", digits=3, help="share of the mask's surface on the field of view's edge"
    ),
    Column("already_stripped", "already stripped", kind="text"),
)


def write_skullstrip_page(
    page: str | os.PathLike,
    summary: SkullstripSummary,
    report_csv: str | os.PathLike,
    pictures: str | os.PathLike,
) -> Path:
    """Write the QC page of a skull-strip batch: one row per scan done (flags from ``skullstrip.csv``)
    and one per scan skipped (flagged with its error).

    Args:
        page: The HTML file.
        summary: What :func:`~brainmri.core.hdbet.run_skullstrip` returned.
        report_csv: The batch's ``skullstrip.csv``: the numbers shown.
        pictures: The folder given to ``run_skullstrip(pictures=...)``.
    """
    table = read_report(report_csv)
    rows = []
    for scan in summary.masks:
        values = table.get(scan_stem(scan), {})
        flags = [f for f in values.get("flags", "").split(";") if f]
        rows.append(Row(Path(scan).name, str(scan), values, flags, **scan_files(pictures, scan)))
    rows += [Row(Path(name).name, name, {}, [f"skipped: {problem}"]) for name, problem in summary.skipped]
    lo, hi = VOLUME_RANGE_CM3
    note = (
        f"HD-BET brain masks (red) over the scan, through the mask's centre. Flags: brain volume outside "
        f"{lo:.0f}-{hi:.0f} cm3, asymmetry above {MAX_ASYMMETRY}, border fraction above {MAX_BORDER_FRACTION}, "
        "fragmented, empty, or an input already skull-stripped."
    )
    return write_batch_page(page, "Skull-strip QC", COLUMNS, rows, note=note)
