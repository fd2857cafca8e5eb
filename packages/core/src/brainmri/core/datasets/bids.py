"""BIDS: ``participants.tsv`` and ``sub-*/[ses-*/]anat/*_T1w.nii(.gz)``."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import DatasetError
from .masks import MaskFinder
from .subject import DatasetIndex, Subject, parse_age, parse_sex, warn_skipped
from .table import find_column, read_rows

_ENTITY = re.compile(r"(?:^|_)(ses|run|acq)-([A-Za-z0-9]+)")


def _t1_scans(root: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for sub in sorted(p for p in root.glob("sub-*") if p.is_dir()):
        files = sorted(sub.glob("anat/*_T1w.nii*")) + sorted(sub.glob("ses-*/anat/*_T1w.nii*"))
        files = [
            p
            for p in files
            if p.is_file() and p.name.endswith((".nii", ".nii.gz")) and p.name.startswith(sub.name + "_")
        ]
        found[sub.name] = files
    return found


def read_bids(root: str | os.PathLike, *, metadata=None, mask_dir=None, split=None) -> DatasetIndex:
    """Read a BIDS dataset's T1-weighted scans.

    Args:
        root: BIDS root with ``sub-<label>/[ses-<label>/]anat/sub-<label>[_ses-...]_T1w.nii(.gz)``.
        metadata: Participants table instead of ``root/participants.tsv`` (columns
            ``participant_id``, optional ``sex`` as M/F and ``age``; ``n/a`` is unknown).
        mask_dir: Folder with brain masks; scans without one are skipped.
        split: Unused; must be None.

    One record per T1w file; every session and run of a subject shares its
    ``subject_id`` (``sub-01``), so splits keep them together. ``extra`` holds ``session``
    and ``run``. A participant row without scans is skipped and counted; a subject folder
    with no row (or no participants table at all) is kept with sex and age unknown.
    """
    if split is not None:
        raise DatasetError(root, "BIDS has no published split; make one with `brainmri-core split`")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "BIDS folder not found")
    table = Path(metadata) if metadata is not None else root / "participants.tsv"
    demo: dict[str, tuple[int | None, float | None, dict]] = {}
    if table.is_file() or metadata is not None:
        rows = read_rows(table, required=("participant_id",))
        header = list(rows[0]) if rows else []
        sid, sex_col, age_col = (find_column(header, c) for c in ("participant_id", "sex", "age"))
        for r in rows:
            pid = str(r.get(sid) or "").strip()
            if pid and not pid.startswith("sub-"):
                pid = f"sub-{pid}"
            demo[pid] = (
                parse_sex(r.get(sex_col)) if sex_col else None,
                parse_age(r.get(age_col)) if age_col else None,
                {k: v for k, v in r.items() if k not in (sid, sex_col, age_col) and v is not None},
            )
    scans = _t1_scans(root)
    masks = MaskFinder(mask_dir)
    subjects, skipped = [], []
    no_row = 0
    for pid, files in scans.items():
        if not files:
            skipped.append((pid, "no anat/*_T1w.nii(.gz) scan"))
            continue
        sex, age, extra = demo.get(pid, (None, None, {}))
        no_row += pid not in demo
        for path in files:
            mask = masks.find(path)
            if mask_dir is not None and mask is None:
                skipped.append((path.name, masks.missing_reason(path)))
                continue
            entities = dict(_ENTITY.findall(path.name))
            subjects.append(
                Subject(
                    subject_id=pid,
                    image=path,
                    mask=mask,
                    sex=sex,
                    age=age,
                    extra={**extra, "session": entities.get("ses"), "run": entities.get("run")},
                )
            )
    for pid in demo:
        if pid not in scans:
            skipped.append((pid, f"row in {table.name} has no subject folder"))
    index = DatasetIndex(subjects, skipped)
    notes = [f"{no_row} subjects not in {table.name} (kept, sex and age unknown)" if no_row else ""]
    warn_skipped("BIDS", root, index, notes)
    return index
