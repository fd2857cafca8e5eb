"""The tasks demo: brief training on synthetic phantoms, full head vs brain only.

``demo_tasks(out_dir)`` writes synthetic phantoms (anatomy depends on sex and age), trains
each installed task that has demo settings (``Task.demo``: sex, age) twice - on the full head
and on brain-extracted input (``--mask-dir``) - evaluates the held-out subjects and writes
``report.md`` with the metrics (95% bootstrap intervals) and each task's own figures
(``Task.demo_report``: a ROC curve in brainmri-classify, predicted vs true age in
brainmri-regress).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from ..atomic import write_text_atomic


def _fmt(metric) -> str:
    if isinstance(metric, dict) and "value" in metric:
        lo, hi = metric["ci95"]
        return f"{metric['value']:.3f} [{lo:.3f}, {hi:.3f}]"
    return f"{metric:.3f}" if isinstance(metric, float) else str(metric)


def demo_tasks(out_dir: str | os.PathLike, scan: str | os.PathLike | None = None, subjects: int = 48,
               epochs: int = 15, device: str = "auto", progress: bool = True,
               scan_mask: str | os.PathLike | None = None) -> Path:
    """Train each installed task with demo settings briefly on phantoms (full head, brain only); report.

    Args:
        out_dir: Folder for the data, the four runs, the plots and ``report.md``.
        scan: Optional real scan: each full-head run predicts it (brain-only runs too: with
            ``scan_mask``, or with a mask HD-BET computes when it is installed).
        subjects: Synthetic subjects (half female, ages 20-80).
        epochs: Training epochs per run (a few minutes on CPU at the default size).
        device: ``auto``, ``cpu`` or ``cuda``.
        progress: Progress output on stderr.
        scan_mask: The brain mask of ``scan`` (``<scan>_mask.nii.gz``, e.g. from the demo's
            skull-strip step): brain-only runs use it instead of running HD-BET again.

    Returns:
        The path of ``report.md``.
    """
    from ..synth.table import write_phantom_table
    from ..tasks import available_tasks, get_task
    from .trainer import TrainConfig
    from .workflow import train

    out = Path(out_dir)
    table = write_phantom_table(out / "data", n=subjects, seed=0, spacing=4.0, orientation=None)
    lines = ["# brainmri tasks demo", "",
             f"{subjects} synthetic head phantoms (sex and age change the anatomy), random orientations, "
             f"4 mm voxels; VT1 network at 6 mm/32^3, {epochs} epochs, seeded split 60/20/20. "
             "Metrics on the held-out test subjects with 95% bootstrap intervals.", ""]
    for name in available_tasks():
        task = get_task(name)
        if task.demo is None:
            continue
        arch, options, batch = task.demo
        rows_by_variant, metrics_by_variant, runs = {}, {}, {}
        for variant, mask_dir in (("full head", None), ("brain only", table.parent / "masks")):
            run_dir = runs[variant] = out / f"{name}_{variant.replace(' ', '_')}"
            if not (run_dir / "metrics.json").is_file():
                train(task, run_dir, dataset="table", root=table, mask_dir=mask_dir, arch=arch, spacing=6.0, shape=32,
                      train_config=TrainConfig(epochs=epochs, batch_size=batch, lr=3e-3, patience=0, augment=False),
                      task_options=options, model_options={"dropout": 0.0}, val=0.2, test=0.2, device=device,
                      progress=progress)
            metrics_by_variant[variant] = json.loads((run_dir / "metrics.json").read_text())["test"]
            with open(run_dir / "predictions.csv", newline="") as fh:
                rows_by_variant[variant] = [r for r in csv.DictReader(fh) if r["split"] == "test"]
        lines += [f"## {name} ({task.package}, --arch {arch})", ""]
        from ..report import PAGE_NAME, write_run_report

        pages = {v: r / PAGE_NAME if (r / PAGE_NAME).is_file() else write_run_report(r, task) for v, r in runs.items()}
        lines += ["Run reports: " + ", ".join(f"[{v}]({p.relative_to(out).as_posix()})" for v, p in pages.items()), ""]
        keys = [k for k, v in next(iter(metrics_by_variant.values())).items() if isinstance(v, (dict, float))
                and k != "before_bias_correction"]
        lines += ["| metric | " + " | ".join(metrics_by_variant) + " |", "|---" * (len(metrics_by_variant) + 1) + "|"]
        for k in keys:
            lines.append(f"| {k} | " + " | ".join(_fmt(m.get(k)) for m in metrics_by_variant.values()) + " |")
            if any(k in m.get("before_bias_correction", {}) for m in metrics_by_variant.values()):
                values = [m.get("before_bias_correction", m).get(k) for m in metrics_by_variant.values()]
                lines.append(f"| {k} (before bias correction) | " + " | ".join(map(_fmt, values)) + " |")
        lines += task.demo_report(out, runs, rows_by_variant)
        if scan is not None:
            from .predict import predict_scans

            for variant in metrics_by_variant:
                run_dir = out / f"{name}_{variant.replace(' ', '_')}"
                try:
                    brain = variant == "brain only"
                    given = brain and scan_mask is not None
                    report = predict_scans(task, [scan], run_dir=run_dir, skull_strip=brain and not given,
                                           mask_dir=Path(scan_mask).parent if given else None, device=device,
                                           on_error="skip")
                except Exception as exc:  # the demo reports, never crashes on the optional scan
                    lines.append(f"- {variant} on {scan}: not run ({type(exc).__name__}: {exc})")
                    continue
                from ..batchlog import row_figure

                for row in report.done:
                    shown = row_figure(None, row) + (f" (brain: {row['brain_input']})" if "brain_input" in row else "")
                    lines.append(f"- {variant} on {Path(scan).name}: {shown}")
            lines.append("")
    report_path = out / "report.md"
    write_text_atomic(report_path, "\n".join(lines) + "\n")
    return report_path
