"""The sex task's sections of a run's ``report.html``: ROC curve and confusion matrix per split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .demo import plot_roc

LABELS = ("male", "female")


def plot_confusion(rows: list[dict], path: Path, title: str) -> Path:
    """Confusion matrix (true rows, predicted columns; 0 male, 1 female) with counts."""
    from brainmri.core.plotting import save_figure
    from brainmri.core.report import figure

    counts = np.zeros((2, 2), dtype=int)
    for r in rows:
        counts[int(float(r["target"])), int(float(r["pred_sex"]))] += 1
    fig = figure((4.0, 3.6))
    ax = fig.subplots()
    ax.imshow(counts, cmap="Blues")
    for (i, j), n in np.ndenumerate(counts):
        ax.text(j, i, str(n), ha="center", va="center", color="black" if n < counts.max() / 2 else "white")
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=LABELS,
        yticklabels=LABELS,
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    fig.tight_layout()
    return save_figure(fig, path)


def report_sections(run, figures_dir: Path) -> list:
    """ROC and confusion matrix of each evaluated split (predictions.csv rows with a target)."""
    from brainmri.core.report import Section, rows_with_target

    sections = []
    for split, rows in rows_with_target(run).items():
        roc = plot_roc({split: rows}, Path(figures_dir) / f"roc_{split}.png")
        confusion = plot_confusion(rows, Path(figures_dir) / f"confusion_{split}.png", f"{split} ({len(rows)})")
        sections.append(Section(f"{split}: ROC and confusion matrix", [roc, confusion]))
    return sections
