"""Explaining scans end to end: preprocess, attribute, map back to the scan, summarise, write.

:func:`explain_volume` works on any network and pipeline (no run folder needed);
:func:`open_run` reaches a trained run through the core task registry, and
:func:`explain_scans` is the ``gradcam`` command as a library call.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from brainmri.core.volume import Volume

from .attribution import Attribution, attribute, prepare_model
from .native import map_to_native, save_native_map
from .peaks import peak_voxel
from .quality import EmptyMapError, check_attribution
from .regions import COLUMNS, region_fractions

#: Columns of ``regions.csv``.
CSV_COLUMNS = ("file", "map", "montage", "method", "layer", "target", "score", "peak_x", "peak_y", "peak_z",
               *COLUMNS)


@dataclass
class ScanExplanation:
    """One scan explained.

    Attributes:
        attribution: The map on the model's grid and what it explains.
        native_map: ``(X, Y, Z)`` float32 map on the scan's own grid.
        grid_image: ``(X, Y, Z)`` the model's input.
        grid_spacing: Grid voxel size (mm), ``(3,)``.
        peak_world: World position (RAS mm) of the map's maximum, ``(3,)`` (see
            :func:`~brainmri.explain.peaks.peak_voxel`).
        fractions: :func:`~brainmri.explain.regions.region_fractions` when a mask was given.
    """

    attribution: Attribution
    native_map: np.ndarray
    grid_image: np.ndarray
    grid_spacing: np.ndarray
    peak_world: np.ndarray
    fractions: dict[str, float] | None = None

    def row(self) -> dict[str, Any]:
        """The ``regions.csv`` fields known without file names."""
        a = self.attribution
        out = {"method": a.method, "layer": a.layer or "", "target": a.target.label, "score": a.target.score,
               "peak_x": float(self.peak_world[0]), "peak_y": float(self.peak_world[1]),
               "peak_z": float(self.peak_world[2])}
        out.update(self.fractions or {k: None for k in COLUMNS})
        return out


def as_predictor(pipeline):
    """A :class:`~brainmri.core.predictor.Predictor` (returned as is) or a Pipeline wrapped in one."""
    from brainmri.core.predictor import Predictor

    return pipeline if hasattr(pipeline, "prepare") else Predictor(pipeline)


def explain_volume(
    model: nn.Module,
    pipeline,
    volume: Volume,
    mask: Volume | None = None,
    target=None,
    method: str = "gradcam",
    layer: str | None = None,
    **options: Any,
) -> ScanExplanation:
    """Attribution map of one scan, on the model's grid and on the scan's native grid.

    Args:
        model: The network, on the pipeline's device (made eval/non-in-place, see
            :func:`~brainmri.explain.attribution.prepare_model`).
        pipeline: What feeds the network: the run's ``Task.predictor`` (a
            :class:`~brainmri.core.predictor.Predictor`: exactly the input ``predict`` gives
            it), or a :class:`~brainmri.core.pipeline.Pipeline`.
        volume: The scan (any orientation).
        mask: Its brain mask on the same grid: fed to the pipeline (brain-only models) and
            used for the inside/outside-brain fractions.
        target: Class to explain (see :func:`~brainmri.explain.targets.select_target`).
        method: ``gradcam``, ``guided-gradcam`` or ``integrated-gradients``.
        layer: Module for the Grad-CAM methods (default: the last convolutional block).
        **options: Passed to :func:`~brainmri.explain.attribution.attribute` (``kind``,
            ``task``, ``task_config``, ``preferred_layer``, ``steps``).

    Returns:
        The :class:`ScanExplanation`. For a brain-only model (masked input) the map is kept to
        the brain: the input had no voxel outside it, whatever the upsampling spreads there.

    Raises:
        EmptyMapError: The map is empty or degenerate (:mod:`~brainmri.explain.quality`).
    """
    prepare_model(model)
    pipeline = as_predictor(pipeline)
    batch = pipeline.prepare(volume, mask)
    result = attribute(model, batch.image, target=target, method=method, layer=layer, **options)
    check_attribution(result)
    brain_only = pipeline.brain_only and batch.mask is not None
    if brain_only:
        result.grid_map = result.grid_map * batch.mask.detach().float().cpu()
    native = map_to_native(result.grid_map.to(batch.image.device), pipeline, batch)
    if brain_only:
        native = native * (np.asarray(mask.data) > 0)
    layer_map = None if brain_only or result.layer_map is None else result.layer_map[0, 0].numpy()
    peak = peak_voxel(result.grid_map[0, 0].numpy(), layer_map)
    peak_world = (np.asarray(batch.affine[0], dtype=np.float64) @ np.array([*peak, 1.0]))[:3]
    fractions = None
    if mask is not None:
        covered = map_to_native(torch.ones_like(batch.image[:, :1]), pipeline, batch) > 0.5
        fractions = region_fractions(native, mask.data, covered, mask_path=mask.path, brain_only_input=brain_only)
    return ScanExplanation(
        attribution=result,
        native_map=native,
        grid_image=batch.image[0, 0].detach().float().cpu().numpy(),
        grid_spacing=pipeline.spacing,
        peak_world=peak_world,
        fractions=fractions,
    )


def map_suffix(method: str) -> str:
    """File suffix of a method's map: ``gradcam``, ``guided_gradcam``, ``integrated_gradients``."""
    return method.replace("-", "_")


def write_explanation(explanation: ScanExplanation, volume: Volume, out_dir: str | os.PathLike, name: str,
                      montage: bool = True, title: str = "") -> dict[str, Path]:
    """Write ``<name>_<method>.nii.gz`` (native grid, float32) and ``<name>_<method>.png``.

    The PNG shows the map over the user's scan as stored (``volume``), in world mm.

    Returns:
        ``{"map": path, "montage": path or absent}``.
    """
    from .montage import save_montage

    out_dir = Path(out_dir)
    suffix = map_suffix(explanation.attribution.method)
    paths = {"map": save_native_map(explanation.native_map, out_dir / f"{name}_{suffix}.nii.gz", like=volume)}
    if montage:
        a = explanation.attribution
        text = title or f"{name}: {a.method}" + (f" @ {a.layer}" if a.layer else "") + f", {a.target.label}"
        paths["montage"] = save_montage(volume, explanation.native_map, out_dir / f"{name}_{suffix}.png", text)
    return paths


@dataclass
class OpenedRun:
    """A trained run reached through the registry, ready to explain."""

    task: Any
    model: nn.Module
    pipeline: Any
    config: dict
    preferred_layer: str | None = None
    options: dict = field(default_factory=dict)
    predictor: Any = None

    def __post_init__(self):
        if self.predictor is None:
            self.predictor = as_predictor(self.pipeline)

    def explain(self, volume: Volume, mask: Volume | None = None, **kwargs: Any) -> ScanExplanation:
        """:func:`explain_volume` with this run's network, the input its ``predict`` feeds it, and task."""
        return explain_volume(self.model, self.predictor, volume, mask, task=self.task,
                              task_config=self.config.get("task_config"),
                              preferred_layer=self.preferred_layer, **kwargs)

    def input_shape(self) -> tuple[int, ...]:
        """Model input shape ``(1, 1, X, Y, Z)`` on the run's grid."""
        return (1, 1, *self.pipeline.config.shape)


def open_run(run_dir: str | os.PathLike, device="auto", checkpoint: str = "best") -> OpenedRun:
    """Load a run folder through the core task registry (``brainmri.core.tasks.load_run``).

    Scans are fed to the network by the task's :meth:`~brainmri.core.tasks.Task.predictor`,
    exactly as its ``predict`` does.
    """
    from brainmri.core.pipeline import Pipeline
    from brainmri.core.tasks import load_run

    task, model, pipeline_config, config = load_run(run_dir, device, checkpoint=checkpoint)
    device = next(model.parameters()).device
    preferred = task.gradcam_layer(config.get("arch", "")) if hasattr(task, "gradcam_layer") else None
    pipeline = Pipeline(pipeline_config, device=device)
    predictor = task.predictor(model, pipeline_config, config.get("task_config", {}), device)
    return OpenedRun(task, prepare_model(model), pipeline, config, preferred or None, predictor=predictor)


def load_mask(finder, scan_path: Path, required: bool) -> Volume | None:
    """The brain mask of a scan from a :class:`~brainmri.core.datasets.MaskFinder`."""
    from brainmri.core.errors import ScanError
    from brainmri.core.io import load_volume

    if finder is None:
        if required:
            raise ScanError(scan_path, "this model takes brain-extracted input: give --mask-dir DIR")
        return None
    found = finder.find(scan_path)
    if found is None:
        raise ScanError(scan_path, finder.missing_reason(scan_path))
    return load_volume(found, check_values=False)


def write_rows_csv(path: str | os.PathLike, rows: list[dict], columns=CSV_COLUMNS,
                   keep_existing: bool = True) -> Path:
    """Write ``regions.csv`` atomically, keeping earlier rows of other files/methods."""
    from brainmri.core.atomic import write_csv_atomic

    path = Path(path)
    new_keys = {(str(r.get("file")), str(r.get("method"))) for r in rows}
    old = []
    if keep_existing and path.is_file():
        with open(path, newline="", encoding="utf-8") as fh:
            old = [r for r in csv.DictReader(fh) if (r.get("file"), r.get("method")) not in new_keys]
    return write_csv_atomic(path, [*old, *rows], list(columns))


def explain_scans(run_dir, scans, out_dir, *, method: str = "gradcam", layer: str | None = None,
                  target=None, mask_dir=None, steps: int = 32, device="auto", checkpoint: str = "best",
                  montage: bool = True, on_error: str = "fail", table_name: str = "regions.csv",
                  viewer_dir=None):
    """The ``gradcam`` command: explain each scan with a run, write maps, montages and regions.csv.

    ``table_name`` names the CSV in ``out_dir`` (one per share when scans are split across
    processes). ``viewer_dir``: a QC page's folder that gets each scan with its native map as
    viewer data (``<stem>.js``, :func:`brainmri.core.report.viewer.write_viewer_data`).

    Returns:
        A :class:`~brainmri.core.batch.BatchReport` whose ``done`` holds the CSV rows.
    """
    from brainmri.core.batch import run_batch
    from brainmri.core.datasets import MaskFinder
    from brainmri.core.errors import ScanError
    from brainmri.core.io import load_volume, scan_stem

    run = open_run(run_dir, device, checkpoint)
    finder = MaskFinder(mask_dir) if mask_dir is not None else None
    out_dir = Path(out_dir)

    def one(path: Path) -> dict:
        volume = load_volume(path)
        mask = load_mask(finder, path, run.predictor.needs_mask)
        try:
            expl = run.explain(volume, mask, target=target, method=method, layer=layer, steps=steps)
        except EmptyMapError as exc:  # a map that explains nothing is bad output for this scan
            raise ScanError(path, str(exc)) from None
        paths = write_explanation(expl, volume, out_dir, scan_stem(path), montage=montage)
        if viewer_dir is not None:
            from brainmri.core.report.viewer import write_viewer_data

            write_viewer_data(viewer_dir, path, volume, expl.native_map, "heat")
        montage_path = str(paths.get("montage", ""))
        return {"file": str(path), "map": str(paths["map"]), "montage": montage_path, **expl.row()}

    from brainmri.core.batchlog import row_figure

    def figure(item, row: dict) -> str:
        return f"{row['target']}, " + row_figure(item, row, ("score", "inside_fraction"))

    report = run_batch([Path(s) for s in scans], one, on_error=on_error, desc=method, figure=figure)
    if report.done:
        write_rows_csv(out_dir / table_name, report.done)
    return report
