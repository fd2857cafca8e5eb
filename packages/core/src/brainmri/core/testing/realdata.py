"""Held-out folds of the real data in ../shared for short real-data training tests."""

from __future__ import annotations

import os
import warnings
from pathlib import Path


def ixi_hh(*, task: str | None = None, mask_dir=None) -> tuple[Path, Path, list]:
    """``(root, sheet, subjects)`` of ../shared/data/ixi-hh; skips the test when it is absent.

    Args:
        task: Keep only subjects whose target is known (``sex``/``age``), as ``train`` does.
        mask_dir: Brain masks; subjects without one are left out.
    """
    from ..datasets import read_ixi
    from . import require_shared

    root = require_shared("data", "ixi-hh")
    sheet = root / "IXI.xls"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the real sheet's quirks are counted in core's reader tests
        subjects = read_ixi(root, metadata=sheet, mask_dir=mask_dir).subjects
    if task is not None:
        subjects = [s for s in subjects if getattr(s, task) is not None]
    return root, sheet, subjects


def held_out_split(subjects: list, path: str | os.PathLike, *, fold: int = 0, k: int = 5, val: float = 0.15,
                   seed: int = 0, train_limit: int | None = None) -> Path:
    """A split JSON whose test part is fold ``fold`` of a stratified ``k``-fold partition.

    Validation is carved from the other folds; ``train_limit`` keeps only that many training
    subjects (stratified order), to make a test cheaper without touching the held-out fold.
    """
    from ..splits import Split, kfold

    part = kfold(subjects, k, seed=seed)[fold]
    train = part.train if train_limit is None else _stratified_head(subjects, part.train, train_limit, seed)
    return Split.from_fixed(train, part.val, val=val, seed=seed).save(path)


def _stratified_head(subjects, ids, n: int, seed: int) -> list[str]:
    from ..splits import kfold

    chosen = set(ids)
    pool = [s for s in subjects if str(s.subject_id) in chosen]
    folds = kfold(pool, max(2, round(len(pool) / max(n, 1))), seed=seed)
    return list(folds[0].val)[:n]


def train_on_held_out_fold(module: str, task: str, tmp_path: str | os.PathLike, *args: str):
    """Train ``python -m module train`` on IXI-HH (6 mm, 8 epochs, CPU) with fold 1 held out.

    Returns:
        ``(run, split_path, subjects, result)``: the run folder, the split JSON, the subjects
        with a known ``task`` target, and the finished process (check its return code).
    """
    import subprocess
    import sys

    root, sheet, subjects = ixi_hh(task=task)
    split = held_out_split(subjects, Path(tmp_path) / "split.json", fold=0)
    run = Path(tmp_path) / "run"
    result = subprocess.run(
        [sys.executable, "-m", module, "train", "--dataset", "ixi", "--root", str(root), "--metadata", str(sheet),
         "--split-file", str(split), "--out", str(run), "--spacing", "6", "--epochs", "8", "--device", "cpu",
         "--quiet", "--seed", "0", *args],
        capture_output=True, text=True, timeout=1800)
    return run, split, subjects, result
