"""Atomic file writes: a reader sees either the old file or the complete new one, never half."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary name keeps the final suffixes (``.nii.gz``), so writers that pick a format
    from the extension behave the same. On any exception the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".nii.gz") else path.suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part{suffix}", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def remove_stale_parts(folder: str | os.PathLike, names: Iterable[str] | None = None,
                       older_than: float = 0.0) -> int:
    """Delete the temporary ``.<name>.*.part*`` files that a killed writer left in ``folder``.

    Args:
        folder: Where the outputs are.
        names: Only the temporaries of these output names (a process sharing the folder with
            others removes only its own); None: every temporary.
        older_than: Only temporaries not modified for this many seconds (a writer that may
            still be running elsewhere keeps its file).

    Returns:
        How many were removed.
    """
    import time

    folder = Path(folder)
    patterns = [f".{name}.*.part*" for name in names] if names is not None else [".*.part*"]
    now, removed = time.time(), 0
    for pattern in patterns:
        for tmp in folder.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                if now - tmp.stat().st_mtime >= older_than:
                    tmp.unlink()
                    removed += 1
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_csv_atomic(
    path: str | os.PathLike,
    rows: Iterable[dict],
    columns: Sequence[str] | None = None,
    float_format: str | None = ".6g",
) -> Path:
    """Write rows (dicts) as a CSV file atomically: the one CSV writer of every brainmri output.

    Args:
        path: The CSV file.
        rows: One dict per row; keys missing from a row give empty cells, keys not in
            ``columns`` are left out.
        columns: Column order; default: the union of the rows' keys in first-seen order.
        float_format: Format of float cells (NaN is written empty, infinities as ``inf``);
            None writes floats as ``str`` does.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    import csv
    import io

    rows = list(rows)
    if columns is None:
        columns = []
        for row in rows:
            columns += [k for k in row if k not in columns]

    def cell(value):
        if float_format is not None and isinstance(value, float):
            return "" if value != value else format(value, float_format)
        return "" if value is None else value

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: cell(row.get(k)) for k in columns})
    write_text_atomic(path, buf.getvalue())
    return Path(path)
