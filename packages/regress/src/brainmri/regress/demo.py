"""The age task's part of the tasks demo (``brainmri.core.training.demo``): predicted vs true age."""

from __future__ import annotations

import json
from pathlib import Path


def plot_age(rows_by_variant: dict[str, list[dict]], path: Path) -> Path:
    """Predicted (uncorrected) against true age of the held-out subjects, one colour per variant."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from brainmri.core.plotting import save_figure

    fig = Figure(figsize=(4.5, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    lo, hi = 100.0, 0.0
    for variant, rows in rows_by_variant.items():
        y = [float(r["target"]) for r in rows]
        p = [float(r["pred_age_uncorrected"]) for r in rows]
        ax.scatter(y, p, label=variant, s=18)
        lo, hi = min(lo, *y, *p), max(hi, *y, *p)
    ax.plot([lo, hi], [lo, hi], "k:", lw=1)
    ax.set(xlabel="true age (years)", ylabel="predicted age (years)", title="age on held-out phantoms")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return save_figure(fig, path)


def bias_notes(runs: dict[str, Path]) -> dict[str, str]:
    """Why the age-bias correction was not applied (calibration.json notes), per variant."""
    notes = {}
    for variant, run in runs.items():
        path = Path(run) / "calibration.json"
        if path.is_file():
            data = json.loads(path.read_text())
            # not applied: a note in "age_bias", or (correction opt-in) a fit kept aside with its note
            bias = data.get("age_bias") or data.get("age_bias_fitted_not_applied") or {}
            if "note" in bias:
                notes[variant] = bias["note"]
    return notes


def demo_report(out: Path, runs: dict[str, Path], rows: dict[str, list[dict]]) -> list[str]:
    """Report lines: the bias-correction notes and ``age_pred_vs_true.png`` (written in ``out``)."""
    plot_age(rows, Path(out) / "age_pred_vs_true.png")
    notes = [f"{variant}: {note}" for variant, note in bias_notes(runs).items()]
    return [
        "",
        "Age metrics of the network's own predictions: the linear age-bias correction is "
        "opt-in (`--bias-correction`); when asked for, it is fitted on the validation split and "
        "applied only where the slope's 95% interval lies above 0.1 (it divides by the slope).",
        *[f"- {n}" for n in notes],
        "",
        "![predicted vs true age](age_pred_vs_true.png)",
        "",
    ]
