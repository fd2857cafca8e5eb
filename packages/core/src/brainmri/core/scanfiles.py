"""Which files of a folder are scans: masks and label maps are not, and ``--glob`` narrows.

A folder of derivatives holds scans beside their brain masks and segmentations (HD-BET's
``*_mask.nii.gz``, ``*_seg``, ``*_dseg``, DLMUSE/aseg label maps). Treating those as scans
z-scores a binary mask and reports it as a processed scan. :func:`find_scans` skips a file
found in a folder when its name marks it as a mask or label map, or when its values are
binary or a few integers, and says which and why; a file named explicitly is never skipped
(it is flagged instead, see :attr:`ScanFiles.flagged`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Name parts (between ``_``, ``-`` or ``.``) that mark masks and label maps.
LABEL_WORDS = ("mask", "brainmask", "seg", "dseg", "label", "labels", "dlmuse", "aseg", "aparc", "synthseg")
_LABEL_NAME = re.compile(r"(?:^|[_\-.])(" + "|".join(LABEL_WORDS) + r")(?=$|[_\-.])", re.IGNORECASE)

#: At most this many distinct integer values (and at least two) make a label map.
MAX_LABEL_VALUES = 16


@dataclass
class ScanFiles:
    """The scans found in command-line arguments.

    Attributes:
        files: Scan files, in argument order (each folder's files sorted). A folder left with
            no scan stays as the folder itself, so the batch reports it.
        skipped: ``(path, why)`` of folder files that are masks or label maps.
        flagged: ``(path, why)`` of files named explicitly whose name marks a mask (kept).
    """

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    flagged: list[tuple[Path, str]] = field(default_factory=list)


def label_reason(path: str | os.PathLike, read_values: bool = True) -> str | None:
    """Why a file looks like a mask or label map rather than a scan, or None.

    Args:
        path: An image file. Its name is checked first; otherwise a strided sample of its
            values (binary, or 2 to :data:`MAX_LABEL_VALUES` integers). An unreadable file
            gives None: the batch will report it.
        read_values: Also read the values (decodes the file); False: the name only.

    Returns:
        A few words (``name part 'mask'``, ``binary values 0 and 1``...), or None.
    """
    from .io import scan_stem

    match = _LABEL_NAME.search(scan_stem(path))
    if match:
        return f"name part {match.group(1)!r}"
    if not read_values:
        return None
    try:
        import nibabel as nib

        sample = np.asanyarray(nib.load(os.fspath(path)).dataobj[::2, ::2, ::2])
    except Exception:  # unreadable here: let the command's loader say why, in its own words
        return None
    values = np.unique(sample[np.isfinite(sample)]) if sample.dtype.kind == "f" else np.unique(sample)
    if not 2 <= values.size <= MAX_LABEL_VALUES or not np.all(values == np.round(values)):
        return None
    if values.size == 2:
        return f"binary values {values[0]:g} and {values[1]:g}"
    return f"only {values.size} integer values"


def find_scans(args: Iterable[str | os.PathLike], glob: str | None = None, skip_labels: bool = True) -> ScanFiles:
    """Scan files from command-line arguments: files as given, folders searched recursively.

    Args:
        args: Files and folders.
        glob: Pattern that folder files must match (``*_T1w.nii.gz``, ``sub-*/anat/*.nii.gz``:
            matched from the right of the path, as :meth:`pathlib.PurePath.match`). Files
            named explicitly are taken whatever it says.
        skip_labels: Skip folder files :func:`label_reason` calls masks or label maps.

    Returns:
        The :class:`ScanFiles`.
    """
    from .io import is_scan_path

    found = ScanFiles()
    for arg in map(Path, args):
        if not arg.is_dir():
            why = label_reason(arg, read_values=False) if skip_labels and arg.is_file() else None
            if why:
                found.flagged.append((arg, why))
            found.files.append(arg)
            continue
        kept = []
        for f in sorted(f for f in arg.rglob("*") if f.is_file() and is_scan_path(f)):
            if glob and not f.relative_to(arg).match(glob):
                continue
            why = label_reason(f) if skip_labels else None
            if why:
                found.skipped.append((f, why))
            else:
                kept.append(f)
        found.files.extend(kept or [arg])
    return found
