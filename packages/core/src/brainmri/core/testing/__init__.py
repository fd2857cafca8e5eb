"""Helpers shared by the test suites of every brainmri package (and the benchmarks).

Tests import these instead of copying them: where the real scans live, tiny synthetic
volumes, NIfTI writers, and training under ``torchrun`` beside one process.
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


def _clone_root() -> Path:
    """The repository clone: the folder above this file that holds ``packages/core`` (an editable
    install, or nox's environments inside the clone), else the working directory."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "packages" / "core").is_dir():
            return parent
    return Path.cwd()


def shared_path() -> Path | None:
    """The project's shared folder (``../shared`` beside the repo, or ``$BRAINMRI_SHARED``)."""
    env = os.environ.get("BRAINMRI_SHARED")
    if env:
        return Path(env) if Path(env).is_dir() else None
    candidate = _clone_root().parent / "shared"
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


def benchmark_recipes(config: str = "cpu") -> dict:
    """The accuracy benchmark's recipes (``benchmarks/accuracy/recipes.py`` of the clone), by
    benchmark task; skips outside a clone."""
    return accuracy_recipes_module().RECIPES[config]


def accuracy_recipes_module():
    """``benchmarks/accuracy/recipes.py`` of the clone, imported; skips outside a clone."""
    import importlib.util

    import pytest

    path = _clone_root() / "benchmarks" / "accuracy" / "recipes.py"
    if not path.is_file():
        pytest.skip(f"needs the repository's {path} (run the tests from the clone)")
    spec = importlib.util.spec_from_file_location("brainmri_benchmark_recipes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def torchrun_executable() -> str:
    """The ``torchrun`` installed beside this Python (skips the calling test where it is absent)."""
    import shutil
    import sys

    import pytest

    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    if torchrun is None:
        pytest.skip(f"torchrun is not installed beside {sys.executable} (it comes with torch)")
    return torchrun


def train_with_torchrun_and_single_process(module: str, args: list[str], tmp_path: str | os.PathLike, *,
                                           nproc: int = 2, batch_size: int = 2, env: dict | None = None,
                                           timeout: float = 600) -> tuple[Path, Path]:
    """Train the same run twice with the same global batch: under torchrun, then in one process.

    Runs ``torchrun --standalone --nproc_per_node=NPROC -m MODULE ARGS --batch-size B --out
    TMP/ddp`` (gloo on CPU) and ``python -m MODULE ARGS --batch-size NPROC*B --out TMP/single``,
    each with ``OMP_NUM_THREADS=1``, and fails the calling test with the tail of stderr when
    either exits non-zero.

    Args:
        module: Module run with ``-m`` (``brainmri.classify``...); its first argument is
            usually ``train``.
        args: Command-line arguments shared by both runs (no ``--batch-size``/``--out``).
        tmp_path: Folder for the two run folders.
        nproc: Processes under torchrun.
        batch_size: Batch per process under torchrun.
        env: Extra environment variables for both runs.
        timeout: Seconds allowed to each run.

    Returns:
        ``(ddp_run, single_run)`` folders.
    """
    import subprocess
    import sys

    import pytest

    torchrun = torchrun_executable()
    tmp_path = Path(tmp_path)
    child_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    commands = {
        ddp: [torchrun, "--standalone", f"--nproc_per_node={nproc}", "-m", module, *args,
              "--batch-size", str(batch_size), "--out", str(ddp)],
        single: [sys.executable, "-m", module, *args, "--batch-size", str(nproc * batch_size), "--out", str(single)],
    }
    for out, command in commands.items():
        done = subprocess.run(command, env=child_env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command[:6])} ... exited {done.returncode}:\n{done.stderr[-4000:]}")
        assert (out / "config.json").is_file(), f"{out}: no config.json"
    return ddp, single


def read_log(run: str | os.PathLike) -> list[dict]:
    """The rows of a run folder's log.csv (strings, as written)."""
    import csv

    with open(Path(run) / "log.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def load_weights(run: str | os.PathLike, checkpoint: str = "last") -> dict:
    """The model state of ``RUN/checkpoints/<checkpoint>.pt``, loaded with ``weights_only=True``."""
    import torch

    state = torch.load(Path(run) / "checkpoints" / f"{checkpoint}.pt", map_location="cpu", weights_only=True)
    return state["model"]


def untrained_copy(run: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """A copy of a run folder whose network learned nothing: the last layer's weights and bias
    are zero in every checkpoint, so every scan gets the same output, all zeros (the mean of
    a standardised age, equal class logits)."""
    import shutil

    import torch

    dest = Path(shutil.copytree(run, dest))
    for path in sorted((dest / "checkpoints").glob("*.pt")):
        state = torch.load(path, map_location="cpu", weights_only=True)
        weights = state["model"]
        last = [k for k, v in weights.items() if k.endswith(".weight") and v.ndim == 2][-1]
        for key in (last, last[: -len("weight")] + "bias"):
            if key in weights:
                weights[key] = torch.zeros_like(weights[key])
        torch.save(state, path)
    return dest


def torchrun_matches_single_process(module: str, args: list[str], tmp_path: str | os.PathLike, *,
                                    nproc: int = 2, batch_size: int = 2, atol: float = 1e-5,
                                    columns: tuple[str, ...] = ("train_loss", "val_loss"),
                                    rel: float = 1e-4) -> tuple[Path, Path]:
    """Assert that DistributedDataParallel under torchrun trains exactly like one process.

    Trains with :func:`train_with_torchrun_and_single_process`, then checks that the torchrun
    run recorded ``world_size`` in config.json, that both runs wrote the same split and one
    log row per epoch, that the final weights (``last.pt``, loaded with ``weights_only=True``)
    agree within ``atol`` (99.9% of each tensor's elements: float sums in another order), and
    that the logged ``columns`` agree within ``rel`` every epoch (and are empty in the same
    epochs: those ``--val-every`` leaves unvalidated).

    Args:
        module, args, tmp_path, nproc, batch_size: As for :func:`train_with_torchrun_and_single_process`;
            ``args`` must make training deterministic (``--no-augment``, ``--dropout 0``...).
        atol: Absolute tolerance on the weights.
        columns: log.csv columns that must match (losses are reduced over all ranks).
        rel: Relative tolerance on those columns.

    Returns:
        ``(ddp_run, single_run)`` folders, for further checks.
    """
    import json

    import pytest
    import torch

    ddp, single = train_with_torchrun_and_single_process(module, args, tmp_path, nproc=nproc, batch_size=batch_size)
    config = json.loads((ddp / "config.json").read_text())
    assert config["world_size"] == nproc, config.get("world_size")
    assert json.loads((single / "config.json").read_text())["world_size"] == 1
    split = json.loads((ddp / "split.json").read_text())
    assert split == json.loads((single / "split.json").read_text())
    # DistributedSampler pads a training set that does not divide into NPROC shards with repeats.
    assert len(split["train"]) % nproc == 0, f"pick a training set divisible by {nproc}: {len(split['train'])}"
    wd, ws = load_weights(ddp), load_weights(single)
    assert wd.keys() == ws.keys()
    for key in ws:
        if not torch.is_floating_point(ws[key]):
            assert torch.equal(wd[key], ws[key]), key
            continue
        close = torch.isclose(wd[key], ws[key], atol=atol, rtol=0)
        assert close.float().mean() >= 0.999, (key, float((wd[key] - ws[key]).abs().max()))
    log_ddp, log_single = read_log(ddp), read_log(single)
    assert log_single and [int(r["epoch"]) for r in log_ddp] == [int(r["epoch"]) for r in log_single]
    for a, b in zip(log_ddp, log_single):
        for column in columns:
            if b[column] == "":  # an epoch left unvalidated (--val-every): by every rank alike
                assert a[column] == "", (a["epoch"], column, a[column])
                continue
            assert float(a[column]) == pytest.approx(float(b[column]), rel=rel), (a["epoch"], column)
    return ddp, single


def phantoms_train_alike_under_torchrun(
    module: str, tmp_path: str | os.PathLike, shape: tuple[str, ...] = ("32",), extra: tuple[str, ...] = ()
) -> tuple[Path, Path]:
    """:func:`torchrun_matches_single_process` for ``MODULE train`` on 12 phantoms of 6 mm.

    Two ranks with a batch of 2 against one process with a batch of 4: 8 training subjects,
    two steps per epoch, no padding by the distributed sampler (checked).

    Args:
        module: A module built with ``add_task_commands`` (``brainmri.classify``...).
        tmp_path: Folder for the data and the two runs.
        shape: The ``--shape`` values.
        extra: More ``train`` options (e.g. a task's loss).

    Returns:
        ``(ddp_run, single_run)`` folders.
    """
    import json

    from ..synth.table import write_phantom_table

    table = write_phantom_table(Path(tmp_path) / "data", n=12, seed=7, spacing=6.0, orientation=None)
    args = ["train", "--dataset", "table", "--root", str(table), "--arch", "resnet3d", "--spacing", "6",
            "--shape", *shape, "--epochs", "2", "--no-augment", "--dropout", "0", "--device", "cpu", "--quiet",
            "--patience", "0", "--val", "0.17", "--test", "0.17", *extra]
    ddp, single = torchrun_matches_single_process(module, args, tmp_path, nproc=2, batch_size=2)
    assert len(json.loads((ddp / "split.json").read_text())["train"]) == 8
    return ddp, single
