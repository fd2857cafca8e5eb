"""IXI: ``IXI<ID>-<Site>-<NNNN>-T1.nii.gz`` scans and the ``IXI.xls`` demographics sheet."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from ..errors import DatasetError
from .masks import MaskFinder
from .subject import DatasetIndex, Subject, parse_age, parse_sex, warn_skipped
from .table import find_column, read_rows

#: File names of IXI T1 scans: ``IXI002-Guys-0828-T1.nii.gz``.
IXI_PATTERN = re.compile(r"^(IXI(\d+))-([A-Za-z]+)-(\d+)-T1\.nii(\.gz)?$")

#: Columns the sheet must have (matched as in :func:`~brainmri.core.datasets.table.find_column`).
IXI_COLUMNS = ("IXI_ID", "SEX_ID", "AGE")


def _default_metadata(root: Path) -> Path:
    for name in ("IXI.xls", "IXI.csv", "ixi.xls", "ixi.csv"):
        if (root / name).is_file():
            return root / name
    raise DatasetError(root, "no IXI.xls or IXI.csv here; give the demographics sheet with --metadata")


def _row_id(value) -> int | None:
    try:
        number = float(str(value).strip()) if value is not None else math.nan
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number == int(number) and number > 0 else None


def _images(root: Path, mask_dir: Path | None) -> dict[int, list[tuple[Path, re.Match]]]:
    found: dict[int, list[tuple[Path, re.Match]]] = {}
    skip = mask_dir.resolve() if mask_dir is not None else None
    for path in sorted(root.rglob("IXI*-T1.nii*")):
        match = IXI_PATTERN.match(path.name)
        if not match or not path.is_file():
            continue
        if skip is not None and skip in path.resolve().parents:
            continue
        found.setdefault(int(match.group(2)), []).append((path, match))
    return found


def read_ixi(root: str | os.PathLike, *, metadata=None, mask_dir=None, split=None) -> DatasetIndex:
    """Read an IXI folder as published.

    Args:
        root: Folder searched recursively for ``IXI<ID>-<Site>-<NNNN>-T1.nii(.gz)`` files.
        metadata: The demographics sheet, ``IXI.xls`` (Excel 97) or a CSV with the same
            columns (``IXI_ID``, ``SEX_ID (1=m, 2=f)``, ``AGE``...). Default: ``root/IXI.xls``,
            then ``root/IXI.csv``.
        mask_dir: Folder with brain masks; scans without one are skipped.
        split: Unused (IXI has no published split); must be None.

    The published sheet's quirks are handled, each skipped item listed in
    ``DatasetIndex.skipped`` and summarised in one warning:

    - a row with no image, or an image with no row: skipped;
    - duplicated ``IXI_ID`` rows: when they agree on sex and age (empty cells agree with
      anything) one is kept and the others are counted as ignored rows; when they disagree
      the subject is skipped;
    - empty, blank, zero or non-numeric ``AGE``, and ``SEX_ID`` outside {1, 2}: the subject
      is kept with ``age``/``sex`` None (use :meth:`DatasetIndex.require`).

    Sex is mapped to 0 male / 1 female. ``Subject.extra`` holds ``ixi_id`` and the row.

    Raises:
        DatasetError: No sheet, unreadable sheet, or a required column missing.
    """
    if split is not None:
        raise DatasetError(root, "IXI has no published split; make one with `brainmri-core split`")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "IXI folder not found")
    sheet = Path(metadata) if metadata is not None else _default_metadata(root)
    rows = read_rows(sheet, required=IXI_COLUMNS)
    header = list(rows[0]) if rows else []
    col = {c: find_column(header, c) for c in IXI_COLUMNS}
    masks = MaskFinder(mask_dir)
    skipped: list[tuple[str, str]] = []

    by_id: dict[int, list[tuple[int, dict]]] = {}
    for n, row in enumerate(rows, start=2):
        ixi_id = _row_id(row.get(col["IXI_ID"]))
        if ixi_id is None:
            skipped.append((f"{sheet.name} row {n}", f"no usable IXI_ID ({row.get(col['IXI_ID'])!r})"))
            continue
        by_id.setdefault(ixi_id, []).append((n, row))
    images = _images(root, masks.mask_dir)

    subjects = []
    for ixi_id, group in sorted(by_id.items()):
        if ixi_id not in images:
            skipped.extend((f"{sheet.name} row {n} (IXI_ID {ixi_id})", "row has no image") for n, _ in group)
            continue
        sexes = {parse_sex(r.get(col["SEX_ID"]), ixi=True) for _, r in group} - {None}
        ages = {round(a, 4) for a in (parse_age(r.get(col["AGE"])) for _, r in group) if a is not None}
        if len(sexes) > 1 or len(ages) > 1:
            skipped.append(
                (
                    f"IXI_ID {ixi_id}",
                    f"conflicting duplicate rows (rows {[n for n, _ in group]}: sex or age differ)",
                )
            )
            continue
        skipped.extend(
            (f"{sheet.name} row {n} (IXI_ID {ixi_id})", "duplicate row ignored") for n, _ in group[1:]
        )
        files = images[ixi_id]
        if len(files) > 1:
            skipped.append((f"IXI_ID {ixi_id}", f"several T1 scans ({', '.join(p.name for p, _ in files)})"))
            continue
        path, match = files[0]
        mask = masks.find(path)
        if mask_dir is not None and mask is None:
            skipped.append((path.name, masks.missing_reason(path)))
            continue
        row = {k: v for k, v in group[0][1].items() if v is not None}
        for _, other in group[1:]:  # fill cells a duplicate has and the first row lacks
            row.update({k: v for k, v in other.items() if v is not None and k not in row})
        subjects.append(
            Subject(
                subject_id=match.group(1),
                image=path,
                mask=mask,
                sex=next(iter(sexes)) if sexes else None,
                age=next(iter(ages)) if ages else None,
                site=match.group(3),
                extra={"ixi_id": ixi_id, "row": row},
            )
        )
    for ixi_id, files in sorted(images.items()):
        if ixi_id not in by_id:
            skipped.extend((p.name, f"no row in {sheet.name} (IXI_ID {ixi_id})") for p, _ in files)

    index = DatasetIndex(subjects, skipped)
    no_age = sum(s.age is None for s in subjects)
    no_sex = sum(s.sex is None for s in subjects)
    warn_skipped(
        "IXI",
        root,
        index,
        [
            f"{no_age} without a usable age (kept, age unknown)" if no_age else "",
            f"{no_sex} with SEX_ID outside 1/2 (kept, sex unknown)" if no_sex else "",
        ],
    )
    return index
