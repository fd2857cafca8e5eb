"""Small synthetic training sets (phantoms whose anatomy depends on sex and age) as a table.

Used by tests, the benchmark and the demo: ``write_phantom_table`` writes each phantom's
scan and brain mask as NIfTI and a ``subjects.csv`` (image, mask, sex, age, subject_id)
readable with ``--dataset table``; masks are also named ``<scan>_mask.nii.gz`` in a mask
folder so ``--mask-dir`` works as with real data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def write_phantom_table(
    folder: str | os.PathLike,
    n: int = 24,
    seed: int = 0,
    spacing: float | None = 4.0,
    orientation: str | None = "RAS",
    age_range: tuple[float, float] = (20.0, 80.0),
    sexes: tuple[int, ...] = (0, 1),
) -> Path:
    """Write ``n`` phantoms (half male, half female, ages spread over ``age_range``).

    Args:
        folder: Output folder (``images/``, ``masks/`` and ``subjects.csv`` are created).
        n: Number of subjects.
        seed: Seed of ages and individual variation.
        spacing: Voxel size (mm); None: random per subject.
        orientation: Storage order (``RAS``...); None: random per subject.
        age_range: Ages are drawn uniformly in this range.
        sexes: Sexes assigned in turn (``(1,)``: all female, e.g. to study age alone).

    Returns:
        The path of ``subjects.csv``.
    """
    from ..atomic import write_text_atomic
    from ..io import save_volume
    from .phantom import make_phantom

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        sex = int(sexes[i % len(sexes)])
        age = float(np.round(rng.uniform(*age_range), 1))
        ph = make_phantom(sex, age, seed=seed * 100_003 + i, spacing=spacing, orientation=orientation)
        sid = f"sub-{i:03d}"
        image = save_volume(ph.image, folder / "images" / f"{sid}_T1w.nii.gz")
        mask = save_volume(ph.brain_mask, folder / "masks" / f"{sid}_T1w_mask.nii.gz")
        rows.append({"subject_id": sid, "image": str(image.relative_to(folder)),
                     "mask": str(mask.relative_to(folder)), "sex": sex, "age": age})
    buf = [",".join(rows[0])]
    buf += [",".join(str(v) for v in r.values()) for r in rows]
    table = folder / "subjects.csv"
    write_text_atomic(table, "\n".join(buf) + "\n")
    return table
