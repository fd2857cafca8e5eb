"""The age task's sections of a run's ``report.html``: predicted against true age, brain-age gap."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_age_fit(rows: list[dict], path: Path, title: str) -> Path:
    """The network's (uncorrected) predicted age against true age, the identity and the fitted bias line."""
    from brainmri.core.plotting import save_figure
    from brainmri.core.report import figure

    y = np.array([float(r["target"]) for r in rows])
    p = np.array([float(r.get("pred_age_uncorrected") or r["pred_age"]) for r in rows])
    fig = figure((4.6, 4.4))
    ax = fig.subplots()
    ax.scatter(y, p, s=16)
    lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], "k:", lw=1, label="identity")
    if len(y) >= 2 and np.ptp(y) > 0:
        slope, intercept = np.polyfit(y, p, 1)
        ax.plot(
            [lo, hi],
            [slope * lo + intercept, slope * hi + intercept],
            "r-",
            lw=1,
            label=f"bias fit: {slope:.2f} x age + {intercept:.1f}",
        )
    ax.set(xlabel="true age (years)", ylabel="predicted age (years)", title=title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_gap(rows: list[dict], path: Path, title: str) -> Path:
    """Histogram of the brain-age gap (predicted - true, as in predictions.csv)."""
    from brainmri.core.plotting import save_figure
    from brainmri.core.report import figure

    gap = np.array([float(r["brain_age_gap"]) for r in rows if r.get("brain_age_gap") not in ("", None)])
    fig = figure((4.6, 4.4))
    ax = fig.subplots()
    ax.hist(gap, bins=max(5, min(30, len(gap) // 2)))
    ax.axvline(0, color="k", lw=1, ls=":")
    ax.set(
        xlabel="brain-age gap (years)",
        ylabel="subjects",
        title=f"{title}: mean {gap.mean():.1f}" if len(gap) else title,
    )
    fig.tight_layout()
    return save_figure(fig, path)


def report_sections(run, figures_dir: Path) -> list:
    """Predicted vs true age and the gap distribution of each evaluated split."""
    from brainmri.core.report import Section, rows_with_target

    sections = []
    for split, rows in rows_with_target(run).items():
        fit = plot_age_fit(rows, Path(figures_dir) / f"age_{split}.png", f"{split} ({len(rows)})")
        gap = plot_gap(rows, Path(figures_dir) / f"gap_{split}.png", f"{split} brain-age gap")
        sections.append(
            Section(
                f"{split}: predicted vs true age, brain-age gap",
                [fit, gap],
                "Dotted: identity; red: the linear fit of predicted on true age (the age bias).",
            )
        )
    return sections
