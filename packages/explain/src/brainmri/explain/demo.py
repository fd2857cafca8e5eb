"""The demo's explain step: one scan through several trained runs, side by side."""

from __future__ import annotations

import os
from pathlib import Path

from .workflow import CSV_COLUMNS, open_run, write_explanation, write_rows_csv


def explain_demo(run_dirs: dict[str, str | os.PathLike], scan: str | os.PathLike, mask: str | os.PathLike,
                 out_dir: str | os.PathLike, method: str = "gradcam", device="auto") -> list[dict]:
    """Grad-CAM of one scan with each run, with montages and the inside/outside-brain fractions.

    Meant for comparing a full-head model with a brain-only one: the share of positive
    attribution outside the brain mask shows how much a model uses skull, face and neck.

    Args:
        run_dirs: ``{label: run folder}``, e.g. ``{"full-head": ..., "brain-only": ...}``.
        scan: The scan to explain (any orientation).
        mask: Its brain mask (same grid).
        out_dir: Output folder: ``<label>_<method>.nii.gz``, ``<label>_<method>.png`` and
            ``demo_regions.csv`` (one row per run).
        method: Attribution method.
        device: Where the models run.

    Returns:
        One row per run: ``label`` and the ``regions.csv`` fields (``inside_fraction``,
        ``outside_fraction``, ``brain_voxel_fraction``, paths...).
    """
    from brainmri.core.io import load_volume

    volume = load_volume(scan)
    brain = load_volume(mask, check_values=False)
    out_dir = Path(out_dir)
    rows = []
    for label, run_dir in run_dirs.items():
        run = open_run(run_dir, device)
        expl = run.explain(volume, brain, method=method)
        inside = expl.fractions["inside_fraction"] if expl.fractions else float("nan")
        where = (f"{inside:.0%} of positive attribution inside the brain" if inside == inside
                 else "input is brain only")
        title = f"{label}: {method} @ {expl.attribution.layer}, {expl.attribution.target.label}; {where}"
        paths = write_explanation(expl, volume, out_dir, label, title=title)
        rows.append({"label": label, "file": str(scan), "map": str(paths["map"]),
                     "montage": str(paths["montage"]), **expl.row()})
    write_rows_csv(out_dir / "demo_regions.csv", rows, columns=("label", *CSV_COLUMNS), keep_existing=False)
    return rows
