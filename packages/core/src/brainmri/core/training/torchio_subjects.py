"""Training on a user's ``tio.SubjectsDataset`` (or any lists of ``tio.Subject``).

The subjects become a run's own table (``RUN/torchio-subjects/subjects.csv``) and split
file, so the run trains, evaluates, predicts and explains like any other: ``evaluate RUN``
later reads the same scans again. Images with a file are referenced where they are; images
held only in memory are written once as NIfTI beside the table (their affine to NIfTI's
float32 precision; give TorchIO file-backed images to keep a file's own affine).

The datasets' own TorchIO transforms are not applied: brainmri's fused pipeline preprocesses
and augments (``train_config.mri_artifacts`` adds TorchIO's MRI artifacts). To train with a
TorchIO loop instead, put :class:`brainmri.core.torchio_bridge.FusedPipeline` in your Compose.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..atomic import write_csv_atomic
from ..splits import Split

#: Folder of the table and the in-memory images inside the run folder.
FOLDER = "torchio-subjects"


def _subjects(dataset) -> list:
    return list(dataset.dry_iter()) if hasattr(dataset, "dry_iter") else list(dataset or [])


def _file(image, folder: Path, name: str) -> str:
    """The image's own file, or a NIfTI written for an image held only in memory."""
    from ..io import save_volume
    from ..torchio_bridge import from_torchio

    if isinstance(image.path, Path) and image.path.is_file():
        return str(image.path.resolve())
    return str(save_volume(from_torchio(image), folder / f"{name}.nii.gz").resolve())


def subjects_table(
    parts: dict[str, Iterable],
    folder: str | os.PathLike,
    image_key: str = "image",
    mask_key: str = "mask",
    labels_key: str = "labels",
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write ``subjects.csv`` (the ``table`` layout) and ``split.json`` for subjects given per part.

    Args:
        parts: ``{"train": ..., "val": ..., "test": ...}``, each a ``tio.SubjectsDataset`` or a
            list of ``tio.Subject`` (``val``/``test`` may be missing or empty).
        folder: Where the table, the split and in-memory images go.
        image_key, mask_key, labels_key: The subjects' scan, brain mask and label map.
        seed: Recorded in the split.

    Returns:
        ``(table path, split path)``. Each subject's ``subject_id``, ``sex``, ``age`` and ``site``
        fields become table columns; a subject without ``subject_id`` is named ``<part>-<n>``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    ids: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    unknown = set(parts) - set(ids)
    if unknown:
        raise ValueError(f"parts must be train, val and test, got {sorted(unknown)}")
    for part, dataset in parts.items():
        for n, subject in enumerate(_subjects(dataset)):
            sid = str(subject.get("subject_id") or f"{part}-{n:04d}")
            row: dict[str, Any] = {"subject_id": sid, "image": _file(subject[image_key], folder, f"{sid}_image")}
            for key, column in ((mask_key, "mask"), (labels_key, "label")):
                row[column] = _file(subject[key], folder, f"{sid}_{column}") if key in subject else ""
            for field in ("sex", "age", "site"):
                value = subject.get(field)
                row[field] = "" if value is None else value
            rows.append(row)
            ids[part].append(sid)
    if not ids["train"]:
        raise ValueError("no training subject given")
    table = write_csv_atomic(folder / "subjects.csv", rows)
    split = Split(ids["train"], ids["val"], ids["test"], seed=seed, method="fixed").save(folder / "split.json")
    return table, split


def train_on_subjects(
    task,
    out: str | os.PathLike,
    train,
    val=None,
    test=None,
    *,
    image_key: str = "image",
    mask_key: str = "mask",
    labels_key: str = "labels",
    **options: Any,
):
    """Train a task on TorchIO subjects and write a run folder (see :func:`~brainmri.core.training.train`).

    Args:
        task: The task or its registry name (``sex``, ``age``...).
        out: The run folder.
        train, val, test: ``tio.SubjectsDataset`` or lists of ``tio.Subject``; the targets
            are subject fields (``sex`` as 0/1 or M/F, ``age`` in years).
        image_key, mask_key, labels_key: The subjects' images.
        **options: Other :func:`~brainmri.core.training.train` arguments (``arch``,
            ``train_config``, ``spacing``, ``shape``, ``device``...).

    Returns:
        The :class:`~brainmri.core.training.RunDir`.
    """
    from .workflow import train as train_run

    seed = getattr(options.get("train_config"), "seed", 0)
    table, split = subjects_table(
        {"train": train, "val": val or [], "test": test or []},
        Path(out) / FOLDER,
        image_key,
        mask_key,
        labels_key,
        seed=seed,
    )
    return train_run(task, out, dataset="table", root=table, split_file=split, **options)
