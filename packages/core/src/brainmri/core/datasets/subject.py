"""The subject record every dataset reader returns, and the index of one dataset."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

#: Targets a subject can carry (attribute names of :class:`Subject`).
TARGETS = ("sex", "age")


@dataclass(frozen=True)
class Subject:
    """One scan of one subject, with what is known about it.

    Several records may share a ``subject_id`` (repeated visits, several sessions); splits
    work on subject ids, so all visits of a subject land in the same split.

    Args:
        subject_id: The subject (``IXI002``, ``002_S_0295``, ``sub-01``...).
        image: The scan file.
        mask: Brain mask (e.g. from HD-BET) on the image grid, when one was found.
        label: One label map file on the image grid (MSD, table).
        label_parts: HarP only: ``(left file, right file)``, merged by
            :func:`~brainmri.core.datasets.load_labels` into 0 background / 1 left / 2 right.
        sex: 0 male, 1 female; None when unknown.
        age: Years; None when unknown.
        site: Acquisition site, when the layout records one.
        extra: Anything else the layout records (image id, session, split...).
    """

    subject_id: str
    image: Path
    mask: Path | None = None
    label: Path | None = None
    label_parts: tuple[Path, ...] = ()
    sex: int | None = None
    age: float | None = None
    site: str | None = None
    extra: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass
class DatasetIndex:
    """The usable subjects of a dataset and everything that was skipped.

    Args:
        subjects: Records in a stable (sorted) order.
        skipped: ``(what, why)`` for every row or file that was left out.
    """

    subjects: list[Subject]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.subjects)

    @property
    def subject_ids(self) -> list[str]:
        """Distinct subject ids, in record order."""
        return list(dict.fromkeys(s.subject_id for s in self.subjects))

    def require(self, *targets: str) -> DatasetIndex:
        """A new index keeping only records where every named target (``"sex"``, ``"age"``,
        ``"mask"``, ``"label"``) is known; the others are added to ``skipped``."""
        keep, skipped = [], list(self.skipped)
        for s in self.subjects:
            missing = [t for t in targets if not _has(s, t)]
            if missing:
                skipped.append((_name(s), f"no {' and no '.join(missing)}"))
            else:
                keep.append(s)
        return DatasetIndex(keep, skipped)


def _has(subject: Subject, target: str) -> bool:
    if target == "label":
        return subject.label is not None or bool(subject.label_parts)
    if target not in ("sex", "age", "mask", "site"):
        raise ValueError(f"unknown target {target!r}")
    return getattr(subject, target) is not None


def _name(subject: Subject) -> str:
    return f"{subject.subject_id} ({subject.image.name})"


def warn_skipped(dataset: str, root, index: DatasetIndex, notes: list[str] | tuple = ()) -> None:
    """Warn once, in one line, about what a reader skipped (nothing when nothing was)."""
    parts = [f"{len(index.skipped)} skipped"] if index.skipped else []
    parts += [n for n in notes if n]
    if not parts:
        return
    reasons: dict[str, int] = {}
    for _, why in index.skipped:
        key = why.split(";")[0].split(" (")[0]
        reasons[key] = reasons.get(key, 0) + 1
    detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
    msg = f"{dataset} {root}: {len(index.subjects)} scans usable, " + "; ".join(parts)
    if detail:
        msg += f" ({detail})"
    warnings.warn(msg, stacklevel=3)


def parse_sex(value, *, ixi: bool = False) -> int | None:
    """Sex from a table cell as 0 male / 1 female, or None.

    Args:
        value: Cell value. Accepts ``M``/``F``, ``male``/``female`` (any case) and, as
            numbers, 0 male / 1 female (or, with ``ixi=True``, IXI's 1 male / 2 female).
        ixi: Use IXI's ``SEX_ID`` coding.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("m", "male", "man"):
            return 0
        if text in ("f", "female", "woman"):
            return 1
        try:
            value = float(text)
        except ValueError:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number != int(number):
        return None
    codes = {1: 0, 2: 1} if ixi else {0: 0, 1: 1}
    return codes.get(int(number))


def parse_age(value) -> float | None:
    """Age in years from a table cell; None for empty, blank, non-numeric, zero or negative."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value or value.lower() in ("n/a", "na", "nan", "none", "-"):
            return None
    try:
        age = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(age) or age <= 0 or age > 130:
        return None
    return age


def as_path(value, base: Path) -> Path | None:
    """A path from a table cell, relative paths resolved against ``base``; None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in ("n/a", "nan", "none"):
        return None
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path
