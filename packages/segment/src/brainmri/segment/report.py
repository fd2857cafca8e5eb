"""The ``predict`` batch's QC page (``report.html``): each scan's outlines and hippocampus volumes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from brainmri.core.batch import BatchReport
from brainmri.core.report import Column, Row, scan_files, write_batch_page

from .predict import side_mismatches


def row_flags(row: Mapping, classes: Mapping[int, str]) -> list[str]:
    """Problems of one predicted scan: an empty class, a side label on the wrong side of the head."""
    flags = [f"no {name} label" for name in classes.values() if not float(row.get(f"{name}_mm3") or 0)]
    return flags + side_mismatches(row, classes)


def write_predict_page(
    page: str | os.PathLike, report: BatchReport, classes: Mapping[int, str], pictures: str | os.PathLike
) -> Path:
    """Write the QC page of a ``predict`` batch: a row per segmented scan, one per skipped scan.

    Args:
        page: The HTML file.
        report: What :func:`~brainmri.segment.predict.predict_scans` returned (rows as in the
            volume table).
        classes: ``{label value: name}`` of the run.
        pictures: The page's files folder (the scans' mosaics and viewer data).
    """
    columns = [
        Column(f"{name}_mm3", f"{name} mm3", digits=0, help=f"volume of the {name} label") for name in classes.values()
    ]
    if {"left", "right"} <= set(classes.values()):
        columns += [
            Column(
                f"{name}_side",
                f"{name} lies",
                kind="text",
                help="side of the head's midline (world x) where the label's centre lies",
            )
            for name in ("left", "right")
        ]
    rows = [
        Row(Path(row["file"]).name, row["file"], row, row_flags(row, classes), **scan_files(pictures, row["file"]))
        for row in report.done
    ]
    rows += [Row(Path(name).name, name, {}, [f"skipped: {problem}"]) for name, problem in report.skipped]
    note = (
        "Predicted outlines (red: left, blue: right) through the hippocampi. Flags: an empty label, "
        "or a label whose centre lies on the other side of the head's midline."
    )
    return write_batch_page(page, "Hippocampus segmentation QC", columns, rows, note=note)


def plot_cases(rows: list[dict], path: Path, title: str) -> Path:
    """Per-case Dice and HD95 of each side (one dot per case)."""
    from brainmri.core.plotting import save_figure
    from brainmri.core.report import figure

    fig = figure((8.0, 3.6))
    dice_ax, hd_ax = fig.subplots(1, 2)
    sides = sorted({k.removeprefix("dice_") for r in rows for k in r if k.startswith("dice_") and k != "dice_mean"})
    for x, side in enumerate(sides):
        for ax, key in ((dice_ax, f"dice_{side}"), (hd_ax, f"hd95_{side}")):
            values = [float(r[key]) for r in rows if r.get(key) not in ("", None)]
            ax.plot([x] * len(values), values, "o", alpha=0.6)
    for ax, label in ((dice_ax, "Dice"), (hd_ax, "HD95 (mm)")):
        ax.set(xticks=range(len(sides)), xticklabels=sides, ylabel=label, title=f"{title}: {label}")
    fig.tight_layout()
    return save_figure(fig, path)


def report_sections(run, figures_dir: Path) -> list:
    """Per-case Dice/HD95 (a table sorted worst first and a plot) and the worst cases' mosaics."""
    from brainmri.core.report import Section, read_rows

    sections = []
    for split in ("val", "test"):
        rows = read_rows(run.predictions_path, split)
        if not rows:
            continue
        keys = [k for k in rows[0] if k.startswith(("dice_", "hd95_"))]
        order = sorted(rows, key=lambda r: float(r.get("dice_mean") or "nan") if r.get("dice_mean") else -1.0)
        table = (
            ["subject", *keys],
            [[r["subject_id"], *(f"{float(r[k]):.3f}" if r.get(k) else "" for k in keys)] for r in order],
        )
        worst = sorted(Path(figures_dir).glob(f"worst_{split}_*.png"))
        figures = [plot_cases(rows, Path(figures_dir) / f"cases_{split}.png", split), *worst]
        sections.append(
            Section(
                f"{split}: per-case Dice and HD95",
                figures,
                "Worst cases first; their mosaics: predicted outlines (red left, blue right) "
                "and the reference (yellow).",
                table,
            )
        )
    return sections
