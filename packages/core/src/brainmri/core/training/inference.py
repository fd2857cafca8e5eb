"""Running a trained network over a dataset: per-subject records of raw outputs and targets."""

from __future__ import annotations

import math
import sys

import numpy as np
import torch

from ..devices import autocast_context
from .distributed import DistInfo, gather_objects


def _target_value(value):
    value = value.item() if torch.is_tensor(value) else value
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, int) and value < 0:
        return None
    return value


@torch.inference_mode()
def predict_records(task, model, pipeline, loader, task_config: dict, amp: str = "auto",
                    dist: DistInfo | None = None, progress: bool = False, desc: str = "predict") -> list[dict]:
    """Raw outputs of ``model`` for every subject of a loader, gathered over ranks.

    Args:
        task: The :class:`~brainmri.core.tasks.Task`.
        model: The network (eval mode is set here).
        pipeline: The :class:`~brainmri.core.pipeline.Pipeline` (no augmentation is applied).
        loader: A loader from :func:`brainmri.core.loading.make_loader`.
        task_config: The run's task configuration.
        amp: Autocast policy, see :func:`autocast_context`.
        dist: Distributed info: each rank predicts its shard, every rank gets all records.
        progress: Show a progress bar.
        desc: Progress bar label.

    Returns:
        One dict per subject (in loader order, duplicates from distributed padding removed):
        ``subject_id``, ``target`` (None when unknown) and ``outputs`` (float32 array).
    """
    from tqdm.auto import tqdm

    model.eval()
    device = pipeline.device
    records = []
    for batch in tqdm(loader, desc=desc, disable=not progress or not sys.stderr.isatty(), file=sys.stderr, leave=False):
        grid = pipeline(batch["samples"], augment=False)
        with autocast_context(device, amp):
            out = model(grid.image.float())
        out = out.float().cpu().numpy()
        targets = batch["targets"].get(task.target)
        for i, sid in enumerate(batch["subject_id"]):
            records.append({
                "subject_id": sid,
                "target": None if targets is None else _target_value(targets[i]),
                "outputs": out[i].astype(np.float32),
            })
    if dist is not None and dist.enabled:
        records = gather_objects(dist, records)
    seen, unique = set(), []
    for r in records:
        if r["subject_id"] not in seen:
            seen.add(r["subject_id"])
            unique.append(r)
    return unique


def decode_records(task, records: list[dict], task_config: dict, calibration: dict | None = None) -> list[dict]:
    """Add the task's named predictions (e.g. ``prob_female``, ``pred_age``) to each record."""
    if not records:
        return []
    outputs = torch.from_numpy(np.stack([r["outputs"] for r in records]))
    decoded = task.decode(outputs, task_config, calibration)
    out = []
    for i, r in enumerate(records):
        row = {k: v for k, v in r.items() if k != "outputs"}
        row.update({k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in decoded.items()})
        out.append(row)
    return out


def records_loss(task, records: list[dict], task_config: dict) -> float:
    """The task loss over records whose target is known (NaN when there are none)."""
    known = [r for r in records if r["target"] is not None]
    if not known:
        return float("nan")
    outputs = torch.from_numpy(np.stack([r["outputs"] for r in known]))
    dtype = torch.long if isinstance(known[0]["target"], int) else torch.float32
    target = torch.tensor([r["target"] for r in known], dtype=dtype)
    with torch.no_grad():
        return float(task.loss(outputs, target, task_config))
