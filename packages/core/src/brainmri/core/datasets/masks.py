"""Finding each scan's brain mask in a mask folder (e.g. the output of ``brainmri-core skullstrip``)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DatasetError
from ..io import is_scan_path, scan_stem

#: Mask names tried for an image ``<stem>.nii.gz``, in order (each also as ``.nii``).
MASK_PATTERNS = ("{stem}_mask", "{stem}_brain_mask", "{stem}")

#: Label-map names tried for an image in a label folder (FreeSurfer, SynthSeg, DLMUSE outputs...).
LABEL_PATTERNS = ("{stem}_label", "{stem}_labels", "{stem}_seg", "{stem}_dlmuse", "{stem}_aseg",
                  "{stem}_synthseg", "{stem}")


class MaskFinder:
    """Looks up ``<stem>_mask.nii.gz`` (the name ``skullstrip`` writes), ``<stem>_brain_mask``
    or ``<stem>.nii(.gz)`` for an image, first directly in the folder, then anywhere below it.

    Args:
        mask_dir: The mask folder, or None (then :meth:`find` always returns None).
        patterns: File names tried, in order (default :data:`MASK_PATTERNS`;
            :data:`LABEL_PATTERNS` finds label maps).
        what: What the files are, for messages (``brain mask``, ``label map``).
    """

    def __init__(self, mask_dir: str | os.PathLike | None, patterns=MASK_PATTERNS, what: str = "brain mask"):
        self.mask_dir = None if mask_dir is None else Path(mask_dir)
        self.patterns = tuple(patterns)
        self.what = what
        if self.mask_dir is not None and not self.mask_dir.is_dir():
            raise DatasetError(self.mask_dir, f"{what} folder not found")
        self._below: dict[str, list[Path]] | None = None

    def _index(self) -> dict[str, list[Path]]:
        if self._below is None:
            self._below = {}
            for p in sorted(self.mask_dir.rglob("*")):
                if p.is_file() and is_scan_path(p):
                    self._below.setdefault(p.name, []).append(p)
        return self._below

    def _names(self, image: Path) -> list[str]:
        stem = scan_stem(image)
        return [pattern.format(stem=stem) + ext for pattern in self.patterns for ext in (".nii.gz", ".nii")]

    def find(self, image: str | os.PathLike) -> Path | None:
        """The mask file of ``image``, or None when there is none (or several candidates)."""
        if self.mask_dir is None:
            return None
        image = Path(image)
        own = image.resolve()
        for name in self._names(image):
            direct = self.mask_dir / name
            if direct.is_file() and direct.resolve() != own:
                return direct
        for name in self._names(image):
            found = [p for p in self._index().get(name, []) if p.resolve() != own]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                return None
        return None

    def missing_reason(self, image: str | os.PathLike) -> str:
        """Why :meth:`find` gave nothing, in a few words."""
        image = Path(image)
        for name in self._names(image):
            if len([p for p in self._index().get(name, []) if p.resolve() != image.resolve()]) > 1:
                return f"several files named {name} under {self.mask_dir}"
        first = self.patterns[0].format(stem=scan_stem(image))
        return f"no {self.what} ({first}.nii.gz) in {self.mask_dir}"
