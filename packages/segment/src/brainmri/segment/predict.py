"""Segmenting scans with a trained run: label NIfTI files on each scan's own grid and a volume table."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .evaluate import OUTPUT_SUFFIX, prediction_path, write_rows

#: The per-run table of class volumes that ``predict`` writes beside the label files.
VOLUMES_CSV = "hippocampus_volumes.csv"


def predict_scans(
    run_dir: str | os.PathLike,
    scans: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    device="auto",
    checkpoint: str = "best",
    tta: str | None = None,
    overlap: float | None = None,
    roi=None,
    sw_batch_size: int = 1,
    largest_component: bool | None = None,
    on_error: str = "fail",
    progress: bool = True,
    table_name: str = VOLUMES_CSV,
):
    """Segment each scan and write ``<stem>_hippocampus.nii.gz`` plus a CSV of class volumes.

    The label file has exactly the scan's shape and affine (its header geometry is copied),
    uint8 with 0 background, 1 left, 2 right (MSD runs: 1 anterior, 2 posterior).

    Args:
        run_dir: A segmentation run folder.
        scans: Scan files (any orientation, any format nibabel reads).
        out_dir: Output folder (created).
        device: ``auto``, ``cpu``, ``cuda``...
        checkpoint: ``best`` or ``last``.
        tta, overlap, roi, sw_batch_size, largest_component: Overrides of the run's
            inference settings (see :class:`~brainmri.segment.inference.Segmenter`).
        on_error: ``fail`` or ``skip`` for unreadable scans.
        progress: Progress bars.
        table_name: Name of the volume table in ``out_dir`` (one per share when the scans are
            split across processes).

    Returns:
        A :class:`~brainmri.core.batch.BatchReport`; ``done`` holds one row per scan
        (``file``, ``output``, ``<class>_mm3``).
    """
    from brainmri.core.atomic import remove_stale_parts
    from brainmri.core.batch import run_batch
    from brainmri.core.errors import BrainmriError
    from brainmri.core.io import load_volume, save_volume

    from .inference import Segmenter
    from .metrics import label_volumes

    scans = [Path(s) for s in scans]
    seen: dict[Path, Path] = {}
    for scan in scans:
        target = prediction_path(out_dir, scan)
        if target in seen:
            raise BrainmriError(
                f"{scan} and {seen[target]} would both be written to {target.name}; "
                "segment them into different output folders"
            )
        seen[target] = scan
    segmenter = Segmenter.from_run(
        run_dir,
        device,
        checkpoint,
        tta=tta,
        overlap=overlap,
        roi=roi,
        sw_batch_size=sw_batch_size,
        largest_component=largest_component,
        progress=False,
    )
    classes = {int(k): v for k, v in segmenter.task_config["classes"].items()}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(out_dir, [table_name, *(target.name for target in seen)])  # a killed run's leftovers

    def one(path) -> dict:
        volume = load_volume(path)
        labels = segmenter.segment(volume).labels
        target = prediction_path(out_dir, path)
        save_volume(labels, target, like=volume)
        return {"file": str(path), "output": str(target), **label_volumes(labels, volume.affine, classes)}

    report = run_batch(scans, one, on_error=on_error, desc="segment")
    if report.done:
        write_rows(out_dir / table_name, report.done)
    return report


__all__ = ["OUTPUT_SUFFIX", "VOLUMES_CSV", "predict_scans"]
