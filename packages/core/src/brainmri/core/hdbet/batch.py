"""Brain extraction of many scans into a folder, resumable, with a ``skullstrip.csv`` report.

For each scan ``<stem>.nii.gz`` the folder gets ``<stem>_mask.nii.gz`` (uint8) and optionally
``<stem>_brain.nii.gz``, both on the scan's exact grid, and one row of ``skullstrip.csv``. Every
file is written atomically and the CSV is rewritten after each scan, so a run killed at any
moment leaves only complete files; a rerun skips the scans whose outputs are complete.

Processes sharing the work (``--shard I/N``) each write ``skullstrip.shardIofN.csv``; a scan
counts as done when any report in the folder has its row, whatever the sharding was.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import remove_stale_parts
from ..errors import BrainmriError
from ..io import scan_stem
from ..report.page import picture_path
from ..report.viewer import viewer_path
from .qc import MaskQCWarning

REPORT_NAME = "skullstrip.csv"
#: Columns of ``skullstrip.csv``.
COLUMNS = (
    "file", "brain_cm3", "components", "lr_asymmetry", "border_fraction", "already_stripped", "flags",
    "seconds", "largest_fraction", "mode", "tta", "backend", "view",
)
#: Brain extraction backends: HD-BET v1 (``brainmri-core[hdbet]``) and deepbet (``brainmri-core[deepbet]``).
BACKENDS = ("hdbet", "deepbet")


def backend_settings(backend: str, mode: str | None, tta: bool | None, device) -> tuple[str, bool]:
    """The ``(mode, tta)`` a backend runs with on a device (what ``skullstrip.csv`` records)."""
    if backend == "deepbet":
        return "single", False
    if backend != "hdbet":
        raise ValueError(f"unknown brain extraction backend {backend!r}; use one of {BACKENDS}")
    from ..devices import resolve_device
    from .predict import default_mode

    default = default_mode(resolve_device(device))
    return (mode or default[0], default[1] if tta is None else bool(tta))


def make_extractor(backend: str = "hdbet", mode: str | None = None, tta: bool | None = None, device="auto",
                   view: str = "ras"):
    """A backend's extractor, its networks loaded: ``.extract(volume)`` gives a :class:`BrainMask`.

    Args:
        backend: ``hdbet`` or ``deepbet``.
        mode, tta, view: HD-BET's (see :class:`~brainmri.core.hdbet.BrainExtractor`); deepbet has none.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
    """
    if backend == "deepbet":
        from ..deepbet import DeepBetExtractor

        return DeepBetExtractor(device)
    if backend != "hdbet":
        raise ValueError(f"unknown brain extraction backend {backend!r}; use one of {BACKENDS}")
    from .predict import BrainExtractor

    return BrainExtractor(mode, tta, device, view=view)


def mask_path(out_dir: str | os.PathLike, scan: str | os.PathLike) -> Path:
    """``OUT/<scan_stem>_mask.nii.gz``, the name the dataset readers look for with ``--mask-dir``."""
    return Path(out_dir) / f"{scan_stem(scan)}_mask.nii.gz"


def brain_path(out_dir: str | os.PathLike, scan: str | os.PathLike) -> Path:
    """``OUT/<scan_stem>_brain.nii.gz``."""
    return Path(out_dir) / f"{scan_stem(scan)}_brain.nii.gz"


def read_report(path: str | os.PathLike) -> dict[str, dict]:
    """Rows of a ``skullstrip.csv`` keyed by the scan stem of their ``file`` (empty if absent)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {scan_stem(row["file"]): row for row in csv.DictReader(fh) if row.get("file")}


def read_reports(out_dir: str | os.PathLike) -> dict[str, dict]:
    """Rows of every report in ``out_dir`` (``skullstrip.csv`` and ``skullstrip.shard*.csv``)."""
    rows: dict[str, dict] = {}
    for path in sorted(Path(out_dir).glob("skullstrip.shard*.csv")) + [Path(out_dir) / REPORT_NAME]:
        rows.update(read_report(path))  # the unsharded report last: it wins
    return rows


def write_report(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    """Write ``skullstrip.csv`` atomically (the whole file)."""
    from ..atomic import write_csv_atomic

    write_csv_atomic(path, rows, COLUMNS, float_format=None)


def _shape_on_disk(path: Path) -> tuple[int, ...]:
    import nibabel as nib

    return tuple(int(s) for s in nib.load(str(path)).shape[:3])


def output_is_valid(output: Path, shape: tuple[int, ...]) -> bool:
    """True when ``output`` exists, decodes completely and has the spatial ``shape``."""
    import nibabel as nib
    import numpy as np

    if not output.is_file():
        return False
    try:
        img = nib.load(str(output))
        return tuple(img.shape[:3]) == tuple(shape) and np.asanyarray(img.dataobj).shape[:3] == tuple(shape)
    except Exception:  # any unreadable file is simply redone
        return False


@dataclass
class SkullstripSummary:
    """What a batch did: outputs per scan and which scans were computed, resumed, flagged, skipped."""

    masks: dict[Path, Path] = field(default_factory=dict)
    computed: list[Path] = field(default_factory=list)
    resumed: list[Path] = field(default_factory=list)
    flagged: dict[Path, tuple[str, ...]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _check_unique(scans: list[Path]) -> None:
    seen: dict[str, Path] = {}
    for path in scans:
        stem = scan_stem(path)
        if stem in seen and seen[stem] != path:
            raise BrainmriError(f"{path}: same name as {seen[stem]}; their outputs would overwrite")
        seen[stem] = path


def _settings(row: dict) -> tuple[str, str, str, str]:
    """``(backend, mode, tta, view)`` of a report row; rows written before deepbet are HD-BET's RAS view."""
    backend = row.get("backend") or "hdbet"
    view = row.get("view") or ("ras" if backend == "hdbet" else "")
    return backend, row.get("mode") or "", row.get("tta") or "", view


def _warn(message: str) -> None:
    warnings.warn(message, MaskQCWarning, stacklevel=3)


def run_skullstrip(
    scans: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    mode: str | None = None,
    tta: bool | None = None,
    device="auto",
    brain: bool = True,
    on_error: str = "fail",
    require_report: bool = True,
    echo: Callable[[str], None] = _warn,
    extractor=None,
    report_name: str = REPORT_NAME,
    backend: str = "hdbet",
    view: str = "ras",
    pictures: str | os.PathLike | None = None,
) -> SkullstripSummary:
    """Extract the brain of every scan into ``out_dir``, skipping scans already done.

    Args:
        scans: Scan files.
        out_dir: Output folder (created).
        mode, tta, device: See :class:`~brainmri.core.hdbet.BrainExtractor` (deepbet has no mode or TTA).
        brain: Also write ``<stem>_brain.nii.gz``.
        on_error: ``fail`` raises at the first bad scan; ``skip`` records it and goes on.
        require_report: A scan counts as done only with its ``skullstrip.csv`` row made with the
            same mode and TTA (``False``: any valid mask file of the right shape is reused).
        echo: Receives one line per flagged mask (default: a :class:`MaskQCWarning`).
        extractor: A ready :class:`~brainmri.core.hdbet.BrainExtractor` to use (else one is
            created, once, when the first scan needs it).
        report_name: This run's report in ``out_dir`` (one per share when the scans are
            split across processes: ``skullstrip.shard1of4.csv``...).
        backend: ``hdbet`` or ``deepbet`` (see :func:`make_extractor`); a scan done by the
            other backend is not reused when ``require_report`` is set.
        view: HD-BET's network view (``ras`` or ``storage``).
        pictures: Folder for each scan's mask mosaic ``<stem>.png`` and viewer data ``<stem>.js``
            (the QC page's pictures and NiiVue view), made while the scan is in memory; a resumed
            scan gets them only if missing.

    Returns:
        :class:`SkullstripSummary`.
    """
    from ..batch import run_batch
    from ..io import load_volume, save_volume

    scans = [Path(s) for s in scans]
    _check_unique(scans)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / report_name
    names = [report_name]
    for s in scans:
        names += [mask_path(out, s).name, brain_path(out, s).name]
    remove_stale_parts(out, names)
    known = read_reports(out)  # done by any run, sharded or not
    rows = read_report(report_path)  # this run's own report
    summary = SkullstripSummary()
    state = {"extractor": extractor}

    def get_extractor():
        if state["extractor"] is None:
            state["extractor"] = make_extractor(backend, mode, tta, device, view)
        return state["extractor"]

    def wanted() -> tuple[str, str, bool, str]:
        ex = state["extractor"]
        if ex is not None:
            return getattr(ex, "backend", "hdbet"), ex.mode, ex.tta, getattr(ex, "view", "")
        return (backend, *backend_settings(backend, mode, tta, device), view if backend == "hdbet" else "")

    def done_before(path: Path) -> bool:
        stem = scan_stem(path)
        row = known.get(stem)
        if require_report:
            want = wanted()
            if row is None or _settings(row) != (want[0], want[1], str(want[2]), want[3]):
                return False
        try:
            shape = _shape_on_disk(path)
        except Exception:
            return False
        outputs = [mask_path(out, path)] + ([brain_path(out, path)] if brain else [])
        return all(output_is_valid(o, shape) for o in outputs)

    def draw(volume, mask, path: Path) -> None:
        from ..plotting import overlay_png
        from ..report.viewer import write_viewer_data

        overlay_png(volume, mask, picture_path(pictures, path))
        write_viewer_data(pictures, path, volume, getattr(mask, "data", mask), "mask")

    def one(path: Path):
        if done_before(path):
            summary.resumed.append(path)
            summary.masks[path] = mask_path(out, path)
            stem = scan_stem(path)
            if stem in known and stem not in rows:  # done by another share: its row joins this report
                rows[stem] = known[stem]
                write_report(report_path, rows.values())
            if pictures is not None and not (picture_path(pictures, path).is_file()
                                             and viewer_path(pictures, path).is_file()):
                draw(load_volume(path), load_volume(mask_path(out, path), check_values=False), path)
            return path
        volume = load_volume(path)
        ex = get_extractor()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MaskQCWarning)  # reported below, once, through echo
            result = ex.extract(volume)
        target = save_volume(result.mask, mask_path(out, path), like=volume)
        if brain:
            save_volume(result.apply_to(volume), brain_path(out, path), like=volume)
        row = {"file": str(path), **result.qc.as_row(), "seconds": round(result.seconds, 2),
               "mode": result.mode, "tta": str(result.tta), "backend": result.backend,
               "view": getattr(ex, "view", "")}
        rows[scan_stem(path)] = known[scan_stem(path)] = row
        write_report(report_path, rows.values())
        if not result.qc.ok:
            summary.flagged[path] = result.qc.flags
            echo(f"{path}: brain mask flagged ({'; '.join(result.qc.messages())})")
        if pictures is not None:
            draw(volume, result.mask, path)
        summary.computed.append(path)
        summary.masks[path] = target
        return path

    def figure(path: Path, _) -> str:
        if path in summary.resumed:
            return "already done"
        row = rows.get(scan_stem(path), {})
        return f"brain {float(row['brain_cm3']):.0f} cm3" if "brain_cm3" in row else ""

    report = run_batch(scans, one, on_error, desc="skullstrip", name=str, figure=figure)
    summary.skipped = report.skipped
    return summary


def ensure_masks(
    scans: Iterable[str | os.PathLike],
    mask_dir: str | os.PathLike,
    mode: str | None = None,
    tta: bool | None = None,
    device="auto",
    on_error: str = "fail",
    report_name: str = REPORT_NAME,
    backend: str = "hdbet",
) -> dict[Path, Path]:
    """Brain masks for scans: reuse ``mask_dir/<stem>_mask.nii.gz`` where valid, compute the rest.

    A mask is reused when it decodes and has the scan's shape, whoever made it; missing ones are
    computed with HD-BET (network loaded only if needed) and reported in ``mask_dir/skullstrip.csv``.

    Args:
        scans: Scan files.
        mask_dir: Mask folder (created).
        mode, tta, device: See :class:`~brainmri.core.hdbet.BrainExtractor`.
        on_error: ``fail`` or ``skip`` (scans that fail are missing from the result).
        report_name: The report's name in ``mask_dir`` (see :func:`run_skullstrip`).
        backend: ``hdbet`` or ``deepbet``, for the masks that must be computed.

    Returns:
        ``{scan path: mask path}``.
    """
    summary = run_skullstrip(scans, mask_dir, mode=mode, tta=tta, device=device, brain=False,
                             on_error=on_error, require_report=False, report_name=report_name, backend=backend)
    return summary.masks

