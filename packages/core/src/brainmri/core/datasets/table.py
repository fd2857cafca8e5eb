"""Plain tables of scans: CSV, TSV (or an Excel sheet) with an ``image`` column."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from ..errors import DatasetError
from ..io import scan_stem
from .masks import MaskFinder
from .subject import DatasetIndex, Subject, as_path, parse_age, parse_sex, warn_skipped

#: Columns :func:`read_table` understands (``image`` is required).
TABLE_COLUMNS = ("image", "mask", "label", "sex", "age", "subject_id", "site")


def read_rows(path: str | os.PathLike, *, required: tuple[str, ...] = ()) -> list[dict[str, object]]:
    """Rows of a CSV, TSV or Excel (.xls) table as dicts keyed by the header.

    The delimiter is taken from the extension (``.tsv``/``.tab``: tab, ``.csv``: sniffed
    among comma, semicolon and tab). Header names are stripped of blanks. For ``.xls``
    files the first sheet that has every ``required`` column is used.

    Raises:
        DatasetError: Unreadable file, or a required column missing (naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "table not found")
    if path.suffix.lower() in (".xls", ".xlsx"):
        rows = _read_xls(path, required)
    else:
        rows = _read_delimited(path)
    if rows is None:
        raise DatasetError(path, "table is empty (no header row)")
    header = rows[0]
    missing = [c for c in required if find_column(header, c) is None]
    if missing:
        raise DatasetError(path, f"missing required column {missing[0]!r} (columns: {', '.join(header)})")
    out = []
    for values in rows[1:]:
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        out.append({h: (values[i] if i < len(values) else None) for i, h in enumerate(header) if h})
    return out


def find_column(header, name: str) -> str | None:
    """The header entry for ``name``: exact, then case-insensitive, then a prefix match such as
    ``SEX_ID (1=m, 2=f)`` for ``SEX_ID``."""
    header = [h for h in header if h]
    if name in header:
        return name
    lower = {h.lower(): h for h in header}
    if name.lower() in lower:
        return lower[name.lower()]
    for h in header:
        if h.lower().startswith(name.lower() + " ") or h.lower().startswith(name.lower() + "("):
            return h
    return None


def _read_delimited(path: Path):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot read table ({type(exc).__name__}: {exc})") from None
    lines = text.splitlines()
    if not lines:
        return None
    if path.suffix.lower() in (".tsv", ".tab"):
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(lines[0], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    rows[0] = [h.strip() for h in rows[0]]
    return [[None if c.strip() == "" else c.strip() for c in r] if i else r for i, r in enumerate(rows)]


def _read_xls(path: Path, required: tuple[str, ...]):
    import xlrd

    try:
        book = xlrd.open_workbook(str(path))
    except Exception as exc:  # xlrd raises its own and OSError/struct errors on junk
        raise DatasetError(
            path, f"not a readable Excel 97 (.xls) file ({type(exc).__name__}: {exc})"
        ) from None
    sheets = [book.sheet_by_index(i) for i in range(book.nsheets)]
    sheets = [s for s in sheets if s.nrows > 0]
    if not sheets:
        return None
    chosen = sheets[0]
    for sheet in sheets:
        header = [str(v).strip() for v in sheet.row_values(0)]
        if all(find_column(header, c) is not None for c in required):
            chosen = sheet
            break
    rows = [[str(v).strip() for v in chosen.row_values(0)]]
    for r in range(1, chosen.nrows):
        rows.append(
            [
                None
                if c.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK)
                or (isinstance(c.value, str) and not c.value.strip())
                else c.value
                for c in chosen.row(r)
            ]
        )
    return rows


def read_table(root: str | os.PathLike, *, metadata=None, mask_dir=None, split=None) -> DatasetIndex:
    """Read a table of scans.

    Args:
        root: The table file, or a folder holding exactly one ``*.csv``/``*.tsv`` (``metadata``
            names the table explicitly and wins).
        metadata: Table file (CSV, TSV or .xls).
        mask_dir: Folder with brain masks; a row without its own ``mask`` needs one there.
        split: Unused (tables have no published split); must be None.

    Columns: ``image`` (required; relative paths resolved against the table's folder),
    optional ``mask``, ``label``, ``sex`` (0/1, M/F, male/female), ``age``, ``subject_id``
    (default: the image file name without extension) and ``site``. Other columns go to
    ``Subject.extra``. Rows whose image (or given mask/label) file is missing, and repeated
    image paths, are skipped and counted. Several rows may share a ``subject_id`` (visits).

    Returns:
        The :class:`DatasetIndex`.
    """
    if split is not None:
        raise DatasetError(root, "a table has no published split; make one with `brainmri-core split`")
    table = _find_table(Path(root), metadata)
    rows = read_rows(table, required=("image",))
    base = table.parent
    masks = MaskFinder(mask_dir)
    subjects, skipped, seen = [], [], set()
    unknown_sex = unknown_age = 0
    cols = {c: find_column(list(rows[0]) if rows else [], c) for c in TABLE_COLUMNS}
    for n, row in enumerate(rows, start=2):

        def get(c, row=row):
            return row.get(cols[c]) if cols[c] else None

        image = as_path(get("image"), base)
        what = f"{table.name} line {n}"
        if image is None:
            skipped.append((what, "empty image cell"))
            continue
        if not image.is_file():
            skipped.append((what, f"image {image} not found"))
            continue
        if image.resolve() in seen:
            skipped.append((what, f"image {image.name} listed twice"))
            continue
        paths = {c: as_path(get(c), base) for c in ("mask", "label")}
        bad = [c for c, p in paths.items() if p is not None and not p.is_file()]
        if bad:
            skipped.append((what, f"{bad[0]} {paths[bad[0]]} not found"))
            continue
        mask = paths["mask"]
        if mask is None and mask_dir is not None:
            mask = masks.find(image)
            if mask is None:
                skipped.append((what, masks.missing_reason(image)))
                continue
        seen.add(image.resolve())
        sex = parse_sex(get("sex"))
        age = parse_age(get("age"))
        unknown_sex += get("sex") is not None and sex is None
        unknown_age += get("age") is not None and age is None
        sid = get("subject_id")
        site = get("site")
        extra = {k: v for k, v in row.items() if k not in cols.values() and v is not None}
        subjects.append(
            Subject(
                subject_id=str(sid).strip() if sid not in (None, "") else scan_stem(image),
                image=image,
                mask=mask,
                label=paths["label"],
                sex=sex,
                age=age,
                site=None if site in (None, "") else str(site),
                extra=extra,
            )
        )
    index = DatasetIndex(subjects, skipped)
    notes = [
        f"{unknown_sex} unreadable sex values (kept, sex unknown)" if unknown_sex else "",
        f"{unknown_age} unusable ages (kept, age unknown)" if unknown_age else "",
    ]
    warn_skipped("table", table, index, notes)
    return index


def _find_table(root: Path, metadata) -> Path:
    if metadata is not None:
        return Path(metadata)
    if root.is_file():
        return root
    if not root.is_dir():
        raise DatasetError(root, "not found")
    found = sorted(p for p in root.iterdir() if p.suffix.lower() in (".csv", ".tsv") and p.is_file())
    if len(found) != 1:
        raise DatasetError(
            root, f"expected one .csv/.tsv table in the folder, found {len(found)}; give it with --metadata"
        )
    return found[0]
