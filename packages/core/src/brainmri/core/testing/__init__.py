"""Helpers shared by the test suites of every brainmri package (and the benchmarks).

Tests import these instead of copying them: where the real scans live, tiny synthetic
volumes, and NIfTI writers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..volume import Volume

_SKIP_REASON = (
    "needs ../shared (real scans and reference checkpoints) beside the repository; "
    "set BRAINMRI_SHARED to its path. CI always has it."
)


def shared_path() -> Path | None:
    """The project's shared folder (``../shared`` beside the repo, or ``$BRAINMRI_SHARED``)."""
    env = os.environ.get("BRAINMRI_SHARED")
    if env:
        return Path(env) if Path(env).is_dir() else None
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "packages" / "core").is_dir():
            candidate = parent.parent / "shared"
            return candidate if candidate.is_dir() else None
    candidate = Path.cwd().parent / "shared"
    return candidate if candidate.is_dir() else None


def require_shared(*relative: str) -> Path:
    """Path inside the shared folder; skips the calling test with a clear reason if absent."""
    import pytest

    root = shared_path()
    if root is None:
        pytest.skip(_SKIP_REASON)
    path = root.joinpath(*relative)
    if not path.exists():
        pytest.skip(f"{path} not found; {_SKIP_REASON}")
    return path


def real_scan(name: str = "chris_t1.nii.gz") -> Path:
    """A real scan from ``shared/data/real`` (skips the test where it is absent)."""
    return require_shared("data", "real", name)


def blob_volume(shape=(32, 36, 30), spacing=(1.5, 1.5, 1.5), seed: int = 0) -> Volume:
    """A smooth random positive volume on a RAS grid centred near the world origin."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    data = gaussian_filter(rng.normal(size=shape), 2.0)
    data = (data - data.min()).astype(np.float32)
    affine = np.diag([*np.broadcast_to(spacing, (3,)), 1.0]).astype(np.float64)
    affine[:3, 3] = -affine[:3, :3] @ ((np.asarray(shape) - 1) / 2.0)
    return Volume(data, affine)


def write_nifti(path: str | os.PathLike, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Write ``data`` as NIfTI with ``affine`` (identity by default), for test fixtures."""
    import nibabel as nib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data), np.eye(4) if affine is None else affine), str(path))
    return path


def synthetic_dataset(root: str | os.PathLike, layout: str = "ixi", subjects: int = 8, seed: int = 0,
                      **options) -> dict:
    """A synthetic dataset folder (``brainmri-core synth``) for tests; reused when ``root``
    already holds one written with the same arguments.

    Args:
        root: Output folder (e.g. from ``tmp_path_factory``): empty, or written by this
            function before.
        layout: ``ixi``, ``adni`` or ``msd``.
        subjects: Usable subjects.
        seed: Seed.
        options: ``masks``/``quirks`` as for the writers.

    Returns:
        The manifest (truth per subject, quirks planted, expected reader counts).
    """
    import json

    from ..synth import WRITERS

    root = Path(root)
    manifest_path = root / "synth_manifest.json"
    key = {"layout": layout, "subjects": subjects, "seed": seed, **options}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("request") == key:
            return manifest
    manifest = WRITERS[layout](root, subjects, seed, **options)  # refuses a non-empty other folder
    manifest["request"] = key
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def real_scan_layouts(root: str | os.PathLike) -> dict[str, Path]:
    """Symlink the three real scans (``shared/data/real``) under dataset layout names.

    Builds, under ``root``: an IXI folder (``ixi/`` with ``IXI.csv``), a table
    (``table/scans.csv``) and a BIDS folder (``bids/``), each holding ``chris_t1``
    (RAS 0.88 mm), ``t1_lia`` (LIA 1 mm) and ``chris_pd`` (0.86 x 0.86 x 2.4 mm).
    Skips the calling test when the shared folder is absent.

    Returns:
        ``{"ixi": folder, "table": csv file, "bids": folder}``.
    """
    scans = {name: real_scan(f"{name}.nii.gz") for name in ("chris_t1", "t1_lia", "chris_pd")}
    root = Path(root)
    ixi = root / "ixi"
    ixi.mkdir(parents=True, exist_ok=True)
    rows = ["IXI_ID,SEX_ID (1=m, 2=f),AGE"]
    for n, path in enumerate(scans.values(), start=2):
        site = ("Guys", "HH", "IOP")[n % 3]
        link = ixi / f"IXI{n:03d}-{site}-{1000 + n}-T1.nii.gz"
        if not link.exists():
            link.symlink_to(path)
        rows.append(f"{n},{1 + n % 2},{30 + n}")
    (ixi / "IXI.csv").write_text("\n".join(rows) + "\n")
    table_dir = root / "table"
    (table_dir / "scans").mkdir(parents=True, exist_ok=True)
    lines = ["subject_id,image,sex,age"]
    for n, (name, path) in enumerate(scans.items()):
        link = table_dir / "scans" / f"{name}.nii.gz"
        if not link.exists():
            link.symlink_to(path)
        lines.append(f"{name},scans/{name}.nii.gz,{'MF'[n % 2]},{40 + n}")
    (table_dir / "scans.csv").write_text("\n".join(lines) + "\n")
    bids = root / "bids"
    tsv = ["participant_id\tsex\tage"]
    for n, path in enumerate(scans.values(), start=1):
        anat = bids / f"sub-{n:02d}" / "anat"
        anat.mkdir(parents=True, exist_ok=True)
        link = anat / f"sub-{n:02d}_T1w.nii.gz"
        if not link.exists():
            link.symlink_to(path)
        tsv.append(f"sub-{n:02d}\t{'MF'[n % 2]}\t{50 + n}")
    (bids / "participants.tsv").write_text("\n".join(tsv) + "\n")
    return {"ixi": ixi, "table": table_dir / "scans.csv", "bids": bids}
