"""Medical Segmentation Decathlon (Task04 Hippocampus and alike): ``dataset.json`` pairs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import DatasetError
from ..io import scan_stem
from .masks import MaskFinder
from .subject import DatasetIndex, Subject, warn_skipped


def read_msd(root: str | os.PathLike, *, metadata=None, mask_dir=None, split=None) -> DatasetIndex:
    """Read an MSD task folder through its ``dataset.json``.

    Args:
        root: Folder with ``dataset.json`` (``training: [{"image": "./imagesTr/x.nii.gz",
            "label": "./labelsTr/x.nii.gz"}, ...]``, ``test: ["./imagesTs/y.nii.gz", ...]``).
        metadata: Another ``dataset.json`` to use instead of ``root/dataset.json``.
        mask_dir: Folder with brain masks; scans without one are skipped.
        split: ``"train"`` (or None): the labelled ``training`` pairs; ``"test"``: the
            unlabelled ``test`` images.

    Only files listed in ``dataset.json`` are read, so the ``._*`` AppleDouble files of the
    published archive are never mistaken for scans. Entries whose files are missing are
    skipped and counted. Labels keep MSD's own values (Task04: 1 anterior, 2 posterior);
    ``Subject.extra["label_names"]`` holds the ``labels`` mapping of the json.
    """
    if split not in (None, "train", "training", "test"):
        raise DatasetError(root, f"MSD splits are 'train' and 'test', not {split!r}")
    root = Path(root)
    path = Path(metadata) if metadata is not None else root / "dataset.json"
    if not path.is_file():
        raise DatasetError(path, "dataset.json not found")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(path, f"not readable JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(spec, dict):
        raise DatasetError(path, "expected a JSON object with a 'training' list")
    base = path.parent
    test = split == "test"
    key = "test" if test else "training"
    entries = spec.get(key)
    if not isinstance(entries, list):
        raise DatasetError(path, f"no {key!r} list")
    names = spec.get("labels") if isinstance(spec.get("labels"), dict) else {}
    label_names = {int(k): str(v) for k, v in names.items() if str(k).lstrip("-").isdigit()}
    masks = MaskFinder(mask_dir)
    subjects, skipped = [], []
    for n, entry in enumerate(entries):
        image_ref = entry if test else (entry.get("image") if isinstance(entry, dict) else None)
        label_ref = None if test else (entry.get("label") if isinstance(entry, dict) else None)
        what = f"{path.name} {key}[{n}]"
        if not isinstance(image_ref, str) or (not test and not isinstance(label_ref, str)):
            skipped.append((what, "entry needs 'image' and 'label' paths"))
            continue
        image = base / image_ref
        label = None if test else base / label_ref
        if not image.is_file():
            skipped.append((what, f"image {image_ref} not found"))
            continue
        if label is not None and not label.is_file():
            skipped.append((what, f"label {label_ref} not found"))
            continue
        mask = masks.find(image)
        if mask_dir is not None and mask is None:
            skipped.append((what, masks.missing_reason(image)))
            continue
        subjects.append(
            Subject(
                subject_id=scan_stem(image),
                image=image,
                mask=mask,
                label=label,
                extra={"label_names": label_names, "split": "test" if test else "train"},
            )
        )
    index = DatasetIndex(subjects, skipped)
    warn_skipped("MSD", root, index)
    return index
