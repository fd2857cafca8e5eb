"""The labelled subjects of a segmentation run's dataset, for training and evaluation alike."""

from __future__ import annotations

from dataclasses import replace

from brainmri.core.errors import DatasetError

from .task import TASK


def labelled_subjects(data: dict) -> list:
    """The dataset's subjects that have a label map (``data``: config.json's ``data`` entry).

    ``label_dir`` attaches label maps found by scan name (``<scan>_dlmuse.nii.gz``,
    ``<scan>_aseg.nii.gz``...) to any layout; ``label_lookup`` maps their values to classes.
    """
    from brainmri.core.datasets import load_dataset
    from brainmri.core.datasets.masks import LABEL_PATTERNS, MaskFinder

    dataset, root = data["dataset"], data["root"]
    split = "train" if dataset == "msd" else None
    index = load_dataset(dataset, root, metadata=data.get("metadata"), split=split)
    subjects = index.subjects
    if data.get("label_dir"):
        finder = MaskFinder(data["label_dir"], LABEL_PATTERNS, what="label map")
        subjects = [replace(s, label=finder.find(s.image), label_parts=()) for s in subjects]
    if data.get("label_lookup"):
        subjects = [replace(s, extra={**s.extra, "label_lookup": data["label_lookup"]}) for s in subjects]
    subjects = [s for s in subjects if TASK.has_target(s)]
    if not subjects:
        where = data.get("label_dir") or root
        raise DatasetError(where, "no subject with a label map" + (" (give --label-dir)" if dataset in
                                                                 ("ixi", "bids") else ""))
    return subjects
