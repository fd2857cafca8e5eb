"""Segmenting scans with a trained run: label NIfTI files on each scan's own grid and a volume table."""

from __future__ import annotations

import os
import shutil
import sys
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
    png: bool = False,
    page: str | os.PathLike | None = None,
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
        png: Also write ``<stem>_hippocampus.png``: the labels outlined over the scan
            (:func:`~brainmri.segment.plotting.overlay_png`).
        page: Write this QC page (``report.html``) at the end; each scan's mosaic ``<stem>.png``
            (the predicted outlines through the hippocampi) and viewer data ``<stem>.js`` go in
            its files folder, made while the scan is in memory (drawn once when ``png`` is also
            asked).

    Returns:
        A :class:`~brainmri.core.batch.BatchReport`; ``done`` holds one row per scan
        (``file``, ``output``, ``<class>_mm3``).
    """
    from brainmri.core.atomic import remove_stale_parts
    from brainmri.core.batch import run_batch
    from brainmri.core.errors import BrainmriError
    from brainmri.core.io import load_volume, save_volume
    from brainmri.core.report import files_dir, picture_path

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

    notes: list[str] = []
    pictures = None if page is None else files_dir(page)

    def one(path) -> dict:
        volume = load_volume(path)
        labels = segmenter.segment(volume).labels
        target = prediction_path(out_dir, path)
        save_volume(labels, target, like=volume)
        picture = None
        if png or pictures is not None:
            from .plotting import overlay_png

            picture = (target.with_name(target.name.removesuffix(".nii.gz") + ".png") if png
                       else picture_path(pictures, path))
            overlay_png(volume, labels.data, picture, title=f"{Path(path).name}: predicted labels", classes=classes)
        # Sides only where the classes are sides: a crop's anterior/posterior has no head midline.
        sides = label_sides(labels, volume, classes) if {"left", "right"} <= set(classes.values()) else {}
        notes.extend(f"{Path(path).name}: {n}" for n in side_mismatches(sides, classes))
        if pictures is not None:
            from brainmri.core.report.viewer import write_viewer_data

            if png:  # the same picture on the QC page
                Path(pictures).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(picture, picture_path(pictures, path))
            write_viewer_data(pictures, path, volume, labels.data, "labels")
        return {"file": str(path), "output": str(target), **label_volumes(labels, volume.affine, classes), **sides}

    from brainmri.core.batchlog import row_figure

    report = run_batch(scans, one, on_error=on_error, desc="segment", figure=row_figure)
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    if report.done:
        write_rows(out_dir / table_name, report.done)
    if page is not None:
        from .report import write_predict_page

        write_predict_page(page, report, classes, pictures)
    return report


def label_sides(labels, volume, classes: dict[int, str]) -> dict:
    """Each class's world x centroid (mm, RAS) and the side of the head it lies on.

    The side is read from world coordinates against the head's own midline (the centroid of
    the scan's signal), never from array order: ``<class>_x_mm`` and ``<class>_side``
    (``left``: patient's left, world x below the midline; empty for an empty class).
    """
    import numpy as np

    from brainmri.core.geometry import mask_centroid_world
    from brainmri.core.hdbet.qc import head_midline_x

    data = np.asarray(labels.data)
    midline = head_midline_x(volume.data, volume.affine)
    out: dict = {"midline_x_mm": round(midline, 1)}
    for value, name in classes.items():
        mask = data == value
        if not mask.any():
            out[f"{name}_x_mm"], out[f"{name}_side"] = None, ""
            continue
        x = float(mask_centroid_world(mask, volume.affine)[0])
        out[f"{name}_x_mm"] = round(x, 1)
        out[f"{name}_side"] = "left" if x < midline else "right"
    return out


def side_mismatches(sides: dict, classes: dict[int, str]) -> list[str]:
    """Classes named ``left``/``right`` found on the other side of the head (a weak model or a side error)."""
    return [f"the label called {name!r} lies on the patient's {sides[f'{name}_side']} "
            f"(world x {sides[f'{name}_x_mm']} mm, head midline {sides['midline_x_mm']} mm)"
            for name in classes.values()
            if name in ("left", "right") and sides.get(f"{name}_side") not in ("", None, name)]


__all__ = ["OUTPUT_SUFFIX", "VOLUMES_CSV", "label_sides", "predict_scans", "side_mismatches"]
