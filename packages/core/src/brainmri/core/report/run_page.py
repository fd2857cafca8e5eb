"""A training run's ``RUN/report.html``: learning curves, metrics with 95% intervals, task figures.

``train`` writes it when the run ends and ``evaluate`` writes it again. The task adds its own
sections (ROC and confusion matrix, predicted against true age, per-case Dice...) through
:meth:`brainmri.core.tasks.Task.report_sections`. Pictures go to ``RUN/report_files/``.
"""

from __future__ import annotations

import csv
import html
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .page import PAGE_NAME, files_dir


@dataclass
class Section:
    """A part of a run report.

    Attributes:
        title: Heading.
        figures: PNG files (in the report's picture folder).
        text: A paragraph.
        table: ``(header, rows)`` shown as a table (values formatted as given).
    """

    title: str
    figures: list[Path] = field(default_factory=list)
    text: str = ""
    table: tuple[list[str], list[list]] | None = None


def read_rows(path: Path, split: str | None = None) -> list[dict]:
    """Rows of a run's CSV (``predictions.csv``, ``log.csv``), of one split if given."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if split is None or r.get("split") == split]


def rows_with_target(run, splits=("val", "test")) -> dict[str, list[dict]]:
    """``{split: predictions.csv rows with a known target}`` of a run, for the splits that have any."""
    out = {}
    for split in splits:
        rows = [r for r in read_rows(run.predictions_path, split) if r.get("target") not in ("", None)]
        if rows:
            out[split] = rows
    return out


def figure(figsize=(5.0, 4.0)):
    """A matplotlib Figure on the Agg canvas (no display) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _learning_curves(log: list[dict], path: Path) -> Path | None:
    from ..plotting import save_figure

    if not log:
        return None
    fig = figure((10.0, 3.8))
    loss_ax, metric_ax = fig.subplots(1, 2)
    for key in dict.fromkeys(k for r in log for k in r):  # validation columns may start late (--val-every)
        if key in ("epoch", "best", "lr", "seconds", "samples_per_s", "loader_wait_s", "peak_mem_mb"):
            continue
        points = [(float(r["epoch"]), float(r[key])) for r in log if r.get(key) not in ("", None)]
        if not points:
            continue
        ax = loss_ax if key.endswith("loss") else metric_ax
        ax.plot(*zip(*points), marker="o", ms=3, label=key)
    loss_ax.set(xlabel="epoch", title="loss")
    metric_ax.set(xlabel="epoch", title="validation metrics")
    for ax in (loss_ax, metric_ax):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def _metric_table(metrics: dict) -> tuple[list[str], list[list]]:
    rows: list[list] = []
    for split, values in metrics.items():
        _metric_rows(split, "", values, rows)
    return ["split", "metric", "value", "95% interval"], rows


def _num(value, fmt: str = ".3f") -> str:
    """A figure for the table: ``n/a`` where the metric is undefined (e.g. HD95 of an empty prediction)."""
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def _interval(value: dict) -> str:
    lo, hi = (value.get("ci95") or [None, None])[:2]
    return f"{lo:.3f} to {hi:.3f}" if lo is not None and hi is not None else ""


def _metric_rows(split: str, prefix: str, values: dict, rows: list[list]) -> None:
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "value" in value:
            rows.append([split, name, _num(value["value"]), _interval(value)])
        elif isinstance(value, dict) and "mean" in value:
            rows.append([split, name, f"{_num(value['mean'])} (SD {_num(value.get('sd'))})", _interval(value)])
        elif isinstance(value, dict):  # a group, e.g. the metrics before a correction
            _metric_rows(split, f"{name}: ", value, rows)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append([split, name, f"{value:.4g}", ""])


def _table_html(table: tuple[list[str], list[list]], ident: str) -> str:
    header, rows = table
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="metrics" id="{ident}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def write_run_report(run_dir: str | os.PathLike, task=None) -> Path:
    """Write ``RUN/report.html`` (atomically) from the run folder's files.

    Args:
        run_dir: The run folder.
        task: Its :class:`~brainmri.core.tasks.Task` (default: from config.json through the registry).

    Returns:
        The page.
    """
    from ..atomic import write_text_atomic
    from ..tasks import get_task
    from ..training.rundir import RunDir
    from .page import _static

    run = RunDir(run_dir).require()
    config = run.read_config()
    task = task or get_task(config["task"])
    page = run.path / PAGE_NAME
    pictures = files_dir(page)
    pictures.mkdir(parents=True, exist_ok=True)
    sections = []
    curves = _learning_curves(read_rows(run.log_path), pictures / "learning_curves.png")
    sections.append(Section("Learning curves", [curves] if curves else [], "" if curves else "no epoch logged yet"))
    metrics = run.read_metrics()
    sections.append(
        Section("Metrics", text="95% bootstrap intervals over the split's subjects.", table=_metric_table(metrics))
        if metrics
        else Section("Metrics", text="not evaluated yet")
    )
    sections += task.report_sections(run, pictures)
    parts = []
    for number, s in enumerate(sections):
        parts.append(f'<section class="figs"><h2>{html.escape(s.title)}</h2>')
        if s.text:
            parts.append(f'<p class="note">{html.escape(s.text)}</p>')
        if s.table:
            parts.append(_table_html(s.table, "metrics" if s.title == "Metrics" else f"table{number}"))
        for fig in s.figures:
            rel = Path(os.path.relpath(fig, page.parent)).as_posix()
            parts.append(f'<img src="{html.escape(rel)}" alt="{html.escape(Path(fig).stem)}" loading="lazy">')
        parts.append("</section>")
    title = f"{config.get('task', 'run')} run {run.path.name}: {config.get('arch', '')}"
    text = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
{_static("report.css")}
</style></head>
<body data-ready="1">
<h1>{html.escape(title)}</h1>
<p class="note">Created {html.escape(str(config.get("created", "")))}; versions
{html.escape(", ".join(f"{k} {v}" for k, v in config.get("versions", {}).items()))}.</p>
{"".join(parts)}
</body></html>
"""
    write_text_atomic(page, text)
    return page


__all__ = ["Section", "figure", "read_rows", "rows_with_target", "write_run_report"]
