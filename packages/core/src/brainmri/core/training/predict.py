"""Predictions on scans from a run folder or from a raw reference (VT1) checkpoint."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import BrainmriError, ScanError


def _mask_for(volume, path: Path, finder, skull_strip: bool, device):
    """``(mask, how)`` for a brain-only model: the mask folder's, HD-BET's, or the scan's own
    signal when the scan is already skull-stripped (e.g. from another site's pipeline)."""
    from ..io import load_volume

    if finder is not None:
        mask_path = finder.find(path)
        if mask_path is None:
            raise ScanError(path, finder.missing_reason(path))
        return load_volume(mask_path, check_values=False), "mask"
    if skull_strip:
        try:
            from ..hdbet import skullstrip_volume
        except ImportError as exc:
            raise BrainmriError(f"--skull-strip needs HD-BET: pip install 'brainmri-core[hdbet]' ({exc})") from None
        result = skullstrip_volume(volume, device=str(device))
        return getattr(result, "mask", result), "hd-bet"
    from ..hdbet.qc import STRIPPED_MAX_SIGNAL_CM3, signal_cm3, signal_mask

    cm3 = signal_cm3(volume.data, volume.affine)
    if cm3 < STRIPPED_MAX_SIGNAL_CM3:
        return volume.with_data(signal_mask(volume.data)), "already skull-stripped (detected)"
    raise ScanError(path, f"this model takes brain-extracted input and the scan has skull ({cm3:.0f} cm3 of "
                          "signal): give --mask-dir DIR or --skull-strip")


def load_reference_checkpoint(task, checkpoint, arch: str = "vt1"):
    """A network and task configuration from a raw state dict of the reference project.

    Args:
        task: The task (its ``reference_config`` says how to read the head).
        checkpoint: ``.pth`` file holding a bare state dict (loaded with ``weights_only=True``).
        arch: Only ``vt1``: the reference checkpoints' architecture.

    Returns:
        ``(model, task_config)``.
    """
    from ..models import VT1Net
    from .checkpoints import load_checkpoint

    if arch != "vt1":
        raise BrainmriError(f"--checkpoint reads raw reference checkpoints of --arch vt1 only, not {arch!r}; "
                            "for trained runs give the run folder")
    state = load_checkpoint(checkpoint)
    if "model" in state and isinstance(state["model"], dict):
        raise BrainmriError(f"{checkpoint}: is a brainmri run checkpoint; give its run folder instead")
    try:
        model = VT1Net.from_state_dict(state)
    except (ValueError, RuntimeError) as exc:
        raise BrainmriError(f"{checkpoint}: not a VT1 state dict ({str(exc).splitlines()[0]})") from None
    expected = task.out_features(task.reference_config())
    out = model.head_kind, (model.fc2 if model.head_kind == "extended" else getattr(model, model.head_key)).out_features
    if out[1] != expected:
        raise BrainmriError(f"{checkpoint}: head has {out[1]} outputs; the {task.name} task expects {expected}")
    return model, task.reference_config()


def predict_scans(
    task,
    scans: Sequence[str | os.PathLike],
    *,
    run_dir=None,
    checkpoint=None,
    arch: str = "vt1",
    preset: str = "vt1",
    spacing=None,
    shape=None,
    brain: bool = False,
    mask_dir=None,
    skull_strip: bool = False,
    targets: Sequence | None = None,
    device="auto",
    on_error: str = "fail",
    progress: bool = True,
):
    """Predict each scan (any orientation) with a run or a raw reference checkpoint.

    Args:
        task: The :class:`~brainmri.core.tasks.Task`.
        scans: Scan files.
        run_dir: A run folder (its pipeline, weights and calibration are used)...
        checkpoint: ...or a raw reference state dict (``.pth``) with ``arch``/``preset``.
        arch, preset, spacing, shape: How to read and feed a raw checkpoint.
        brain: Raw checkpoints: multiply the scan by its brain mask first.
        mask_dir: Folder with ``<scan stem>_mask.nii.gz`` brain masks.
        skull_strip: Compute masks with HD-BET instead (brainmri-core[hdbet]).
        targets: True values, one per scan (None entries allowed): adds e.g. the brain-age gap.
        device: Where to run.
        on_error: ``fail`` or ``skip`` for unreadable scans.
        progress: Progress bar.

    Returns:
        A :class:`~brainmri.core.batch.BatchReport` whose ``done`` holds one row (dict) per scan.
    """
    import torch

    from ..batch import run_batch
    from ..datasets import MaskFinder
    from ..devices import autocast_context, resolve_device
    from ..io import load_volume
    from ..pipeline import PipelineConfig
    from ..tasks import load_run

    dev = resolve_device(device)
    calibration = None
    if run_dir is not None:
        task, model, pipeline_config, config = load_run(run_dir, dev)
        task_config, calibration = config["task_config"], config.get("calibration")
    elif checkpoint is not None:
        model, task_config = load_reference_checkpoint(task, checkpoint, arch)
        overrides = {k: v for k, v in (("spacing", spacing), ("shape", shape)) if v is not None}
        pipeline_config = PipelineConfig.preset(preset, apply_mask=brain, **overrides)
        model = model.to(dev).eval()
    else:
        raise BrainmriError("give a run folder or --checkpoint FILE.pth")
    predictor = task.predictor(model, pipeline_config, task_config, dev)
    finder = MaskFinder(mask_dir) if mask_dir is not None else None
    scans = [Path(s) for s in scans]
    if targets is not None and len(targets) not in (0, len(scans)):
        raise BrainmriError(f"got {len(targets)} true values for {len(scans)} scans; give one per scan")
    truth = dict(zip(scans, targets)) if targets else {}

    def one(path: Path) -> dict:
        volume = load_volume(path)
        mask, how = _mask_for(volume, path, finder, skull_strip, dev) if pipeline_config.needs_mask else (None, "")
        if how.startswith("already"):
            notes.append(f"{path.name}: input is already skull-stripped (detected); used as it is")
        grid = predictor.prepare(volume, mask)
        with torch.inference_mode(), autocast_context(dev):
            out = model(grid.image.float()).float().cpu()
        decoded = task.decode(out, task_config, calibration)
        row = {"file": str(path)}
        if pipeline_config.needs_mask:
            row["brain_input"] = how
        row.update({k: (v[0].item() if hasattr(v[0], "item") else v[0]) for k, v in decoded.items()})
        row.update(task.describe(row, truth.get(path)))
        return row

    from ..batchlog import row_figure

    notes: list[str] = []
    report = run_batch(scans, one, on_error=on_error, desc="predict", figure=row_figure)
    for note in notes:
        print(note, file=sys.stderr)
    return report
