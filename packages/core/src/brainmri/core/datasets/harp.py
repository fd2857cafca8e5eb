"""EADC-ADNI HarP: ADNI scans in nested folders and left/right hippocampus label files."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import DatasetError
from ..io import is_scan_path
from .masks import MaskFinder
from .subject import DatasetIndex, Subject, parse_age, parse_sex, warn_skipped
from .table import find_column, read_rows

#: Label folders and the split each one is.
HARP_LABEL_DIRS = {"Labels_100_NIFTI": "train", "Labels_35_NIFTI": "test"}

#: ``ADNI_<site>_S_<subj>_<imageid>_L.nii(.gz)`` (and ``_R``); other files are ignored.
HARP_LABEL_PATTERN = re.compile(r"^ADNI_(\d+_S_\d+)_([A-Za-z]?\d+)_([LR])\.nii(\.gz)?$")

_SUBJECT_DIR = re.compile(r"^\d+_S_\d+$")


def _id_matches(image_id: str, path: Path) -> bool:
    number = image_id.lstrip("Ii")
    tokens = set(re.split(r"[_/\\.\-]", str(path)))
    return bool({image_id, number, f"I{number}"} & tokens)


def _scans(root: Path) -> dict[str, list[Path]]:
    adni = root / "ADNI"
    if not adni.is_dir():
        raise DatasetError(root, "no ADNI/ folder (expected ROOT/ADNI/<site>_S_<subj>/.../<scan>)")
    out: dict[str, list[Path]] = {}
    for folder in sorted(p for p in adni.iterdir() if p.is_dir() and _SUBJECT_DIR.match(p.name)):
        files = [p for p in sorted(folder.rglob("*")) if p.is_file() and is_scan_path(p)]
        files = [p for p in files if not (p.suffix == ".img" and p.with_suffix(".hdr").exists())]
        if files:
            out[folder.name] = files
    return out


def _labels(root: Path, skipped: list) -> dict[tuple[str, str], dict]:
    """Label pairs by (subject, image id); problems go to ``skipped`` as (splits, what, why)."""
    pairs: dict[tuple[str, str], dict] = {}
    folders = [(root / name, split) for name, split in HARP_LABEL_DIRS.items() if (root / name).is_dir()]
    if not folders:
        raise DatasetError(root, f"no label folder ({' or '.join(HARP_LABEL_DIRS)})")
    for folder, split in folders:
        for path in sorted(folder.rglob("*")):
            match = HARP_LABEL_PATTERN.match(path.name)
            if not match or not path.is_file():
                continue
            subject, image_id, side = match.groups()[:3]
            entry = pairs.setdefault((subject, image_id), {"split": set(), "L": [], "R": []})
            entry["split"].add(split)
            entry[side].append(path)
    out = {}
    for key, entry in sorted(pairs.items()):
        name = f"ADNI_{key[0]}_{key[1]}"
        splits = entry["split"]
        if len(splits) > 1:
            skipped.append((splits, name, "labelled in both the train and the test folder"))
        elif not entry["L"] or not entry["R"]:
            skipped.append((splits, name, f"no {'left (_L)' if not entry['L'] else 'right (_R)'} label file"))
        elif len(entry["L"]) > 1 or len(entry["R"]) > 1:
            skipped.append(
                (
                    splits,
                    name,
                    f"several label files for one side "
                    f"({', '.join(p.name for p in entry['L'] + entry['R'])})",
                )
            )
        else:
            out[key] = {"split": entry["split"].pop(), "parts": (entry["L"][0], entry["R"][0])}
    return out


def _demographics(metadata) -> dict[str, tuple[int | None, float | None]]:
    if metadata is None:
        return {}
    rows = read_rows(metadata)
    header = list(rows[0]) if rows else []
    sid = next(
        (find_column(header, c) for c in ("subject_id", "Subject", "PTID") if find_column(header, c)), None
    )
    if sid is None:
        raise DatasetError(metadata, "missing required column 'subject_id' (or 'Subject', 'PTID')")
    sex_col, age_col = find_column(header, "sex"), find_column(header, "age")
    return {
        str(r.get(sid)).strip(): (
            parse_sex(r.get(sex_col)) if sex_col else None,
            parse_age(r.get(age_col)) if age_col else None,
        )
        for r in rows
    }


def read_harp(root: str | os.PathLike, *, metadata=None, mask_dir=None, split=None) -> DatasetIndex:
    """Read an EADC-ADNI HarP folder as published.

    Args:
        root: Folder with ``ADNI/<site>_S_<subj>/.../<scan>`` (.nii, .nii.gz or .mnc, any
            depth) and the label folders ``Labels_100_NIFTI/`` (train) and
            ``Labels_35_NIFTI/`` (test) holding ``ADNI_<site>_S_<subj>_<imageid>_L.nii(.gz)``
            and ``..._R...``.
        metadata: Optional table with ``subject_id`` (or ``Subject``/``PTID``), ``sex``, ``age``.
        mask_dir: Folder with brain masks; scans without one are skipped.
        split: ``"train"`` (Labels_100), ``"test"`` (Labels_35) or None for both
            (``Subject.extra["split"]`` says which).

    One record per left/right label pair, with ``label_parts = (left, right)`` (merged by
    :func:`~brainmri.core.datasets.load_labels`). Other files in the label folders (CSF
    labels...) are ignored. Skipped and counted: a label pair with no scan, a side missing,
    scans with no label. When a subject folder holds several scans, the one whose path
    contains the label's image id (``12345`` or ``I12345`` as a ``_``/``/``/``.``-separated
    token) is used; if none or several match, the pair is skipped.
    """
    if split not in (None, "train", "test"):
        raise DatasetError(root, f"HarP splits are 'train' and 'test', not {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "HarP folder not found")
    problems: list[tuple[set, str, str]] = []
    scans = _scans(root)
    labels = _labels(root, problems)
    skipped = [(what, why) for splits, what, why in problems if split is None or split in splits]
    demo = _demographics(metadata)
    masks = MaskFinder(mask_dir)
    used: set[Path] = set()
    subjects = []
    for (subject, image_id), entry in labels.items():
        name = f"ADNI_{subject}_{image_id}"
        wanted = split is None or entry["split"] == split
        candidates = scans.get(subject, [])
        if len(candidates) > 1:
            candidates = [p for p in candidates if _id_matches(image_id, p.relative_to(root))]
        used.update(candidates)  # several: reported once below as ambiguous, not also as unlabelled
        if not wanted:
            continue
        if not candidates:
            why = (
                "label has no scan"
                if subject not in scans
                else f"{len(scans[subject])} scans in ADNI/{subject}, none with image id {image_id}"
            )
            skipped.append((name, why))
            continue
        if len(candidates) > 1:
            shown = ", ".join(str(p.relative_to(root)) for p in candidates)
            skipped.append((name, f"{len(candidates)} scans in ADNI/{subject} match image id {image_id} ({shown})"))
            continue
        image = candidates[0]
        mask = masks.find(image)
        if mask_dir is not None and mask is None:
            skipped.append((name, masks.missing_reason(image)))
            continue
        sex, age = demo.get(subject, (None, None))
        subjects.append(
            Subject(
                subject_id=subject,
                image=image,
                mask=mask,
                label_parts=entry["parts"],
                sex=sex,
                age=age,
                site=subject.split("_")[0],
                extra={"image_id": image_id, "split": entry["split"]},
            )
        )
    for files in scans.values():
        skipped.extend((str(p.relative_to(root)), "scan has no label") for p in files if p not in used)
    index = DatasetIndex(subjects, skipped)
    warn_skipped("HarP", root, index)
    return index
