"""The sex task's part of the tasks demo (``brainmri.core.training.demo``): a ROC curve."""

from __future__ import annotations

from pathlib import Path


def plot_roc(rows_by_variant: dict[str, list[dict]], path: Path) -> Path:
    """ROC curves of the held-out predictions, one per variant (full head, brain only).

    Args:
        rows_by_variant: predictions.csv rows (``target``, ``prob_female``) per variant.
        path: PNG to write.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from brainmri.core.metrics import roc_auc, roc_curve
    from brainmri.core.plotting import save_figure

    fig = Figure(figsize=(4.5, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for variant, rows in rows_by_variant.items():
        y = [int(r["target"]) for r in rows]
        p = [float(r["prob_female"]) for r in rows]
        fpr, tpr = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{variant} (AUC {roc_auc(y, p):.2f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="sex: ROC on held-out phantoms")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path)


def demo_report(out: Path, runs: dict[str, Path], rows: dict[str, list[dict]]) -> list[str]:
    """Report lines: the ROC figure (``roc_sex.png`` in ``out``)."""
    plot_roc(rows, Path(out) / "roc_sex.png")
    return ["", "![ROC](roc_sex.png)", ""]
