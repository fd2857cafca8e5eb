"""Subject-level, seeded, stratified train/val/test splits and k folds, saved as JSON.

Every visit (record) of a subject goes to the split of its ``subject_id``. Subjects are
stratified by sex and by age bin (quartiles of the known ages) when those are known: within
each stratum, subjects are shuffled with the seed and dealt out so every stratum is split
in the requested proportions (to within one subject) and the totals are exact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import write_text_atomic
from .errors import DatasetError

PARTS = ("train", "val", "test")
SPLIT_FORMAT = 1


def _profiles(subjects: Iterable) -> dict[str, tuple[int | None, float | None]]:
    """subject id -> (sex, age) from records (Subject) or bare ids; first known value wins."""
    out: dict[str, list] = {}
    for s in subjects:
        if isinstance(s, str):
            out.setdefault(s, [None, None])
            continue
        entry = out.setdefault(str(s.subject_id), [None, None])
        if entry[0] is None and getattr(s, "sex", None) is not None:
            entry[0] = int(s.sex)
        if entry[1] is None and getattr(s, "age", None) is not None:
            entry[1] = float(s.age)
    return {k: (v[0], v[1]) for k, v in out.items()}


def _strata_order(profiles: dict, seed: int, age_bins: int = 4) -> list[str]:
    """Subject ids ordered stratum by stratum, shuffled within each stratum."""
    rng = np.random.default_rng(seed)
    ids = sorted(profiles)
    ages = np.array([profiles[i][1] for i in ids if profiles[i][1] is not None], dtype=float)
    edges = np.quantile(ages, np.linspace(0, 1, age_bins + 1)[1:-1]) if ages.size >= 2 * age_bins else []
    strata: dict[tuple, list[str]] = {}
    for i in ids:
        sex, age = profiles[i]
        key = (
            -1 if sex is None else sex,
            -1 if age is None else int(np.searchsorted(edges, age, side="right")),
        )
        strata.setdefault(key, []).append(i)
    order: list[str] = []
    for key in sorted(strata):
        members = strata[key]
        order.extend(members[j] for j in rng.permutation(len(members)))
    return order


def _deal(n: int, counts: Sequence[int]) -> list[int]:
    """Part index for positions 0..n-1, spreading each part evenly along the sequence with
    exactly ``counts[p]`` positions per part (largest running deficit first)."""
    counts = np.asarray(counts, dtype=float)
    assigned = np.zeros(len(counts))
    out = []
    for i in range(n):
        deficit = (i + 1) * counts / max(n, 1) - assigned
        deficit[assigned >= counts] = -np.inf
        p = int(np.argmax(deficit))
        assigned[p] += 1
        out.append(p)
    return out


def _sizes(n: int, fractions: Sequence[float]) -> list[int]:
    sizes = [int(round(n * f)) for f in fractions]
    for i, f in enumerate(fractions):  # a requested part gets at least one subject when possible
        if f > 0 and sizes[i] == 0 and n - sum(sizes) > 1:
            sizes[i] = 1
    return [n - sum(sizes), *sizes]


@dataclass
class Split:
    """Subject ids per part, and how they were made.

    Attributes:
        train, val, test: Sorted subject ids.
        seed: Seed the split was made with.
        fractions: Requested ``{"val": f, "test": f}``.
        method: ``random``, ``fixed`` (published test set) or ``kfold``.
        fold, k: Fold number and fold count for k-fold splits.
    """

    train: list[str]
    val: list[str]
    test: list[str]
    seed: int = 0
    fractions: dict = field(default_factory=dict)
    method: str = "random"
    fold: int | None = None
    k: int | None = None

    def __post_init__(self) -> None:
        self.train, self.val, self.test = (sorted(map(str, p)) for p in (self.train, self.val, self.test))
        seen: dict[str, str] = {}
        for part in PARTS:
            for sid in getattr(self, part):
                if sid in seen:
                    raise DatasetError(None, f"subject {sid} is in both {seen[sid]} and {part}")
                seen[sid] = part

    def part_of(self, subject_id: str) -> str | None:
        """``train``, ``val``, ``test`` or None for an id in no part."""
        for part in PARTS:
            if subject_id in getattr(self, part):
                return part
        return None

    def select(self, subjects: Iterable, part: str) -> list:
        """The records (Subjects) of ``subjects`` whose subject id is in ``part``."""
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, not {part!r}")
        wanted = set(getattr(self, part))
        return [s for s in subjects if s.subject_id in wanted]

    def to_dict(self) -> dict:
        """JSON-ready form (what :meth:`save` writes)."""
        return {
            "format": SPLIT_FORMAT,
            "method": self.method,
            "seed": self.seed,
            "fractions": self.fractions,
            "fold": self.fold,
            "k": self.k,
            "counts": {p: len(getattr(self, p)) for p in PARTS},
            "train": self.train,
            "val": self.val,
            "test": self.test,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        """Inverse of :meth:`to_dict`."""
        return cls(
            list(d.get("train", [])),
            list(d.get("val", [])),
            list(d.get("test", [])),
            seed=int(d.get("seed", 0)),
            fractions=dict(d.get("fractions") or {}),
            method=str(d.get("method", "random")),
            fold=d.get("fold"),
            k=d.get("k"),
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write the split as JSON, atomically."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, fold: int | None = None) -> Split:
        """Read a split written by :meth:`save` (or fold ``fold`` of a :func:`save_folds` file).

        Raises:
            DatasetError: Unreadable file or not a split.
        """
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(path, f"not a readable split file ({type(exc).__name__}: {exc})") from None
        if not isinstance(d, dict):
            raise DatasetError(path, "not a split file (expected a JSON object)")
        if "folds" in d:
            n = len(d["folds"])
            if fold is None or not 0 <= fold < n:
                raise DatasetError(path, f"holds {n} folds; choose one with fold=0..{n - 1}")
            d = d["folds"][fold]
        if not all(isinstance(d.get(p, []), list) for p in PARTS) or "train" not in d:
            raise DatasetError(path, "not a split file (needs train/val/test id lists)")
        try:
            return cls.from_dict(d)
        except DatasetError as exc:
            raise DatasetError(path, exc.problem) from None

    @classmethod
    def from_fixed(cls, train_ids: Iterable, test_ids: Iterable, val: float = 0.15, seed: int = 0) -> Split:
        """A published test set kept as is; validation carved (stratified) out of the training ids.

        Args:
            train_ids: Subject ids or Subject records (records let the carve stratify).
            test_ids: Subject ids or records of the fixed test set.
            val: Fraction of the training subjects moved to validation.
            seed: Shuffle seed.
        """
        test = set(_profiles(test_ids))
        profiles = {k: v for k, v in _profiles(train_ids).items() if k not in test}
        order = _strata_order(profiles, seed)
        parts = _deal(len(order), _sizes(len(order), [val]))
        train = [s for s, p in zip(order, parts) if p == 0]
        valid = [s for s, p in zip(order, parts) if p == 1]
        return cls(
            train, valid, sorted(test), seed=seed, fractions={"val": val, "test": None}, method="fixed"
        )


def make_split(subjects: Iterable, val: float = 0.15, test: float = 0.15, seed: int = 0) -> Split:
    """Split subjects (not records) into train/val/test, stratified by sex and age bin.

    Args:
        subjects: Subject records (several per subject allowed) or subject ids.
        val: Fraction of subjects for validation.
        test: Fraction of subjects for testing.
        seed: Shuffle seed; the same seed and subjects give the same split.

    Returns:
        The :class:`Split`.
    """
    if val < 0 or test < 0 or val + test >= 1:
        raise ValueError(f"val ({val}) and test ({test}) must be >= 0 and sum to less than 1")
    profiles = _profiles(subjects)
    order = _strata_order(profiles, seed)
    parts = _deal(len(order), _sizes(len(order), [val, test]))
    groups = [[s for s, p in zip(order, parts) if p == i] for i in range(3)]
    return Split(*groups, seed=seed, fractions={"val": val, "test": test})


def kfold(subjects: Iterable, k: int = 5, seed: int = 0) -> list[Split]:
    """``k`` stratified folds; in fold ``i`` the ``i``-th group is ``val``, the rest ``train``.

    Returns:
        ``k`` :class:`Split` objects (``test`` empty), each with ``fold`` and ``k`` set.
    """
    profiles = _profiles(subjects)
    if not 2 <= k <= len(profiles):
        raise ValueError(f"k must be between 2 and the number of subjects ({len(profiles)}), not {k}")
    order = _strata_order(profiles, seed)
    n = len(order)
    base = [n // k + (i < n % k) for i in range(k)]
    parts = _deal(n, base)
    folds = []
    for i in range(k):
        val_ids = [s for s, p in zip(order, parts) if p == i]
        train_ids = [s for s, p in zip(order, parts) if p != i]
        folds.append(
            Split(
                train_ids,
                val_ids,
                [],
                seed=seed,
                fractions={"val": 1 / k, "test": 0.0},
                method="kfold",
                fold=i,
                k=k,
            )
        )
    return folds


def save_folds(folds: Sequence[Split], path: str | os.PathLike) -> Path:
    """Write k-fold splits into one JSON file (read one back with ``Split.load(path, fold=i)``)."""
    d = {
        "format": SPLIT_FORMAT,
        "method": "kfold",
        "k": len(folds),
        "seed": folds[0].seed if folds else 0,
        "folds": [f.to_dict() for f in folds],
    }
    write_text_atomic(path, json.dumps(d, indent=1) + "\n")
    return Path(path)


def default_split(subjects: Sequence, val: float = 0.15, test: float = 0.15, seed: int = 0) -> Split:
    """The split a training run uses when none is given.

    Layouts with a published test set (HarP: ``Labels_35_NIFTI``, recorded by the reader as
    ``extra["split"] == "test"``) keep it and carve validation out of their training part;
    every other dataset gets :func:`make_split`.
    """
    published = {s.extra.get("split") for s in subjects}
    if "test" in published and "train" in published:
        train = [s for s in subjects if s.extra.get("split") == "train"]
        fixed = [s for s in subjects if s.extra.get("split") == "test"]
        return Split.from_fixed(train, fixed, val=val, seed=seed)
    return make_split(subjects, val, test, seed)
