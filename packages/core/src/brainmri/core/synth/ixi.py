"""A synthetic IXI folder: ``IXI-T1/IXI<ID>-<Site>-<NNNN>-T1.nii.gz`` plus ``IXI.xls`` with its quirks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os

import numpy as np

from ..atomic import atomic_path, write_text_atomic
from ._common import demographics, finish, prepare_root, progress, write_scan
from .phantom import make_phantom

#: Columns of the published ``IXI.xls`` sheet, in order.
IXI_SHEET_COLUMNS = (
    "IXI_ID",
    "SEX_ID (1=m, 2=f)",
    "HEIGHT",
    "WEIGHT",
    "ETHNIC_ID",
    "MARITAL_ID",
    "OCCUPATION_ID",
    "QUALIFICATION_ID",
    "DOB",
    "DATE_AVAILABLE",
    "STUDY_DATE",
    "AGE",
)
SITES = ("Guys", "HH", "IOP")


def _row(ixi_id: int, sex: int, age, rng: np.random.Generator) -> dict:
    study = dt.date(2005, 6, 1) + dt.timedelta(days=int(rng.integers(0, 700)))
    dob = study - dt.timedelta(days=int(round(float(age or 40.0) * 365.25)))
    return {
        "IXI_ID": ixi_id,
        "SEX_ID (1=m, 2=f)": sex + 1,
        "HEIGHT": int(rng.integers(150, 195)),
        "WEIGHT": int(rng.integers(50, 100)),
        "ETHNIC_ID": int(rng.integers(1, 6)),
        "MARITAL_ID": int(rng.integers(1, 5)),
        "OCCUPATION_ID": int(rng.integers(1, 9)),
        "QUALIFICATION_ID": int(rng.integers(1, 6)),
        "DOB": dob,
        "DATE_AVAILABLE": 1,
        "STUDY_DATE": study,
        "AGE": age,
    }


def _write_xls(path, rows: list[dict]) -> None:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Table")
    date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for c, name in enumerate(IXI_SHEET_COLUMNS):
        sheet.write(0, c, name)
    for r, row in enumerate(rows, start=1):
        for c, name in enumerate(IXI_SHEET_COLUMNS):
            value = row.get(name)
            if value is None:
                continue  # an empty cell, as in the published sheet
            if isinstance(value, dt.date):
                sheet.write(r, c, value, date)
            else:
                sheet.write(r, c, value)
    lookup = book.add_sheet("Ethnicity")  # the published workbook has lookup sheets too
    for r, (i, name) in enumerate([("ID", "ETHNIC"), (1, "White"), (2, "Asian"), (3, "Black")]):
        lookup.write(r, 0, i)
        lookup.write(r, 1, name)
    with atomic_path(path) as tmp:
        book.save(str(tmp))


def _write_csv(path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(IXI_SHEET_COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in IXI_SHEET_COLUMNS])
    write_text_atomic(path, buf.getvalue())


def write_ixi(
    root: str | os.PathLike,
    subjects: int = 20,
    seed: int = 0,
    *,
    masks: bool = True,
    quirks: bool = True,
    overwrite: bool = False,
    show_progress: bool = False,
) -> dict:
    """Write a synthetic IXI folder with the published sheet's quirks.

    Writes ``IXI-T1/IXI<ID>-<Site>-<NNNN>-T1.nii.gz`` (random orientation and voxel size per
    scan), ``IXI.xls`` (Excel 97 via ``xlwt``; ``IXI.csv`` when xlwt is not installed),
    ``masks/<stem>_mask.nii.gz`` (brain masks, unless ``masks=False``) and
    ``synth_manifest.json`` (truth and what was planted).

    Quirks (``quirks=True``): two rows with no image, one image with no row, one subject's
    row duplicated identically, one extra subject with two conflicting rows, one empty age
    and (with 4+ subjects) one age of 0. ``subjects`` usable subjects are always written
    (with age unknown for the empty/zero ones); the quirk scans come on top.

    Returns:
        The manifest: ``subjects`` (id -> sex, age, image, grid), ``quirks`` and
        ``expected`` (the counts a correct reader reports).
    """
    root = prepare_root(root, overwrite)
    rng = np.random.default_rng([int(seed), 101])
    n_extra = 2 if quirks else 0  # image without row, conflicting rows
    n_ghost = 2 if quirks else 0  # rows without image
    people = demographics(subjects + n_extra, rng)
    ids = sorted(
        int(i)
        for i in rng.choice(
            np.arange(2, 2 + 10 * (subjects + 8)), subjects + n_extra + n_ghost, replace=False
        )
    )
    order = rng.permutation(len(ids))
    usable = sorted(ids[i] for i in order[:subjects])
    extra_ids = [ids[i] for i in order[subjects : subjects + n_extra]]
    ghost_ids = [ids[i] for i in order[subjects + n_extra :]]
    numbers = rng.choice(np.arange(100, 10000), len(ids), replace=False)

    quirk = {
        "rows_without_image": ghost_ids,
        "images_without_row": [],
        "duplicate_rows": [],
        "conflicting_rows": [],
        "empty_age": [],
        "zero_age": [],
    }
    if quirks and subjects >= 1:
        picks = rng.permutation(usable)
        quirk["empty_age"] = [int(picks[0])]
        quirk["duplicate_rows"] = [int(picks[1 % len(picks)])]
        quirk["zero_age"] = [int(picks[2])] if subjects >= 4 else []
    if quirks:
        quirk["images_without_row"] = [extra_ids[0]]
        quirk["conflicting_rows"] = [extra_ids[1]]

    scan_ids = usable + extra_ids
    rows, manifest_subjects = [], {}
    for n, ixi_id in enumerate(progress(scan_ids, len(scan_ids), "synth ixi", show_progress)):
        sex, age, pseed = people[n]
        site = SITES[int(rng.integers(len(SITES)))]
        name = f"IXI{ixi_id:03d}-{site}-{int(numbers[n]):04d}-T1.nii.gz"
        phantom = make_phantom(sex, age, pseed)
        grid = write_scan(phantom, root / "IXI-T1" / name, root / "masks" if masks else None)
        sheet_age = None if ixi_id in quirk["empty_age"] else 0.0 if ixi_id in quirk["zero_age"] else age
        if ixi_id not in quirk["images_without_row"]:
            rows.append(_row(ixi_id, sex, sheet_age, rng))
        if ixi_id in quirk["duplicate_rows"]:
            rows.append(dict(rows[-1]))
        if ixi_id in quirk["conflicting_rows"]:
            rows.append({**rows[-1], "SEX_ID (1=m, 2=f)": 2 - sex})
        if ixi_id in usable:
            manifest_subjects[f"IXI{ixi_id:03d}"] = {
                "sex": sex,
                "age": age,
                "sheet_age": sheet_age if sheet_age else None,
                "image": f"IXI-T1/{name}",
                **grid,
            }
    for ixi_id in ghost_ids:
        sex, age, _ = demographics(1, rng)[0]
        rows.append(_row(ixi_id, sex, age, rng))
    rows.sort(key=lambda r: r["IXI_ID"])
    try:
        import xlwt  # noqa: F401

        sheet = root / "IXI.xls"
        _write_xls(sheet, rows)
    except ImportError:
        sheet = root / "IXI.csv"
        _write_csv(sheet, rows)
    n_skipped = sum(
        len(quirk[k])
        for k in ("rows_without_image", "images_without_row", "duplicate_rows", "conflicting_rows")
    )
    return finish(
        root,
        {
            "layout": "ixi",
            "seed": int(seed),
            "sheet": sheet.name,
            "masks": "masks" if masks else None,
            "subjects": manifest_subjects,
            "quirks": quirk,
            "expected": {
                "subjects": len(usable),
                "skipped": n_skipped,
                "age_unknown": len(quirk["empty_age"]) + len(quirk["zero_age"]),
            },
        },
    )
