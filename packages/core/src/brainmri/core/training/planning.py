"""Training defaults derived from the dataset and the device, as nnU-Net plans from a fingerprint.

A :class:`Fingerprint` is read from the scans' headers only (no voxel is decoded): median
voxel size, median shape and median field of view in world (RAS) axes. :func:`plan_grid`
picks the whole-head grid of classification and regression, :func:`plan_patch` the patch of
segmentation. Each returns the chosen values and the reasons, which ``train`` prints and
stores in config.json (``plan``). Values the user gives are kept and named as such.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ScanError
from ..geometry import as_triple, mask_box

#: Voxels of one whole-head input a device handles at a useful speed: on 2 CPU cores a
#: 64x64x48 grid trains the four-block CNN at ~10 s per 100 scans; a GPU takes the
#: reference project's 2 mm / 128^3.
GRID_BUDGET = {"cpu": 64 * 64 * 48, "cuda": 128**3}

#: Voxel sizes (mm) tried for whole-head grids, finest first.
GRID_SPACINGS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0)

#: Largest scan (voxels a side) a segmentation patch holds whole per device, and the U-Net
#: width that goes with it.
PATCH_LIMIT = {"cpu": 64, "cuda": 128}

#: The label-centred patch for scans larger than that limit (whole heads). On CPU, 48^3 beat
#: 64^3 on IXI-HH heads with DLMUSE labels (fold 1's inner validation, 8 epochs: Dice 0.80
#: vs 0.37; benchmarks/accuracy/recipes.py): four times the steps for the same time.
HEAD_PATCH = {"cpu": 48, "cuda": 128}
BASE_FILTERS = {"cpu": 16, "cuda": 32}

#: Scans whose headers are read for the fingerprint (a sample of large datasets is enough).
FINGERPRINT_SCANS = 64

#: Room (mm) left on each side of the median brain when brain-only input is planned: the
#: grid is centred on each mask's bounding box, and 5 mm gives IXI-HH's median brain
#: (132x180x134 mm, HD-BET) a 3 mm grid of 48x64x48 within the CPU budget, where its 256 mm
#: field of view takes 4 mm.
BRAIN_MARGIN_MM = 5.0


@dataclass(frozen=True)
class Fingerprint:
    """What the plan needs to know about a dataset.

    Args:
        n: Scans read.
        spacing: Median voxel size (mm) per world axis (R, A, S).
        shape: Median shape (voxels) per world axis.
        extent_mm: Median field of view (mm) per world axis.
        region: What the extent measures (``field of view``, or the brain for
            :func:`brain_fingerprint`), as the plan's reasons say it.
    """

    n: int
    spacing: tuple[float, float, float]
    shape: tuple[int, int, int]
    extent_mm: tuple[float, float, float]
    region: str = "field of view"

    def to_dict(self) -> dict:
        return asdict(self)


def fingerprint(images: Sequence, max_scans: int = FINGERPRINT_SCANS) -> Fingerprint:
    """Median voxel size, shape and field of view of ``images`` (paths), from headers only.

    Axes are world axes (the scan's voxel axes matched to R, A, S by the affine), so a PSR
    and an RAS dataset of the same heads give the same fingerprint.

    Raises:
        ValueError: No image given.
    """
    return _median_fingerprint(images, "image", lambda img, path: np.asarray(img.shape[:3]), max_scans)


def brain_fingerprint(masks: Sequence, margin_mm: float = BRAIN_MARGIN_MM,
                      max_scans: int = FINGERPRINT_SCANS) -> Fingerprint:
    """The fingerprint of brain-only input: the median bounding box of the brain masks (paths),
    plus ``margin_mm`` on each side, in world axes. Reads the masks' voxels.

    Raises:
        ValueError: No mask given.
        ScanError: An empty mask (the message names the file).
    """

    def box(img, path):
        try:
            lo, hi = mask_box(np.asanyarray(img.dataobj))
        except ValueError:
            raise ScanError(path, "the brain mask is empty") from None
        return hi - lo + 1

    return _median_fingerprint(masks, "brain mask", box, max_scans, margin_mm,
                               f"brain mask's bounding box plus {margin_mm:g} mm a side")


def _median_fingerprint(paths: Sequence, what: str, voxels, max_scans: int, margin_mm: float = 0.0,
                        region: str = "field of view") -> Fingerprint:
    """Medians over (a sample of at most ``max_scans`` of) ``paths``: voxel size, ``voxels(img, path)``
    (voxels per voxel axis) and their extent in mm plus ``margin_mm`` a side, in world axes."""
    import nibabel as nib

    if not paths:
        raise ValueError(f"no {what} to fingerprint")
    step = max(1, math.ceil(len(paths) / max_scans))
    spacings, shapes = [], []
    for path in list(paths)[::step]:
        img = nib.load(str(path))
        size, order = _world_axes(img.affine)
        spacings.append(size[order])
        shapes.append(np.asarray(voxels(img, path), dtype=np.float64)[order])
    spacing = np.median(spacings, axis=0)
    shape = np.median(shapes, axis=0)
    extent = np.median(np.asarray(spacings) * np.asarray(shapes), axis=0)
    return Fingerprint(len(spacings), tuple(round(float(v), 3) for v in spacing),
                       tuple(int(round(v)) for v in shape), tuple(round(float(v) + 2 * margin_mm, 1) for v in extent),
                       region)


def _world_axes(affine) -> tuple[np.ndarray, np.ndarray]:
    """mm per voxel axis, and the voxel axes in world (R, A, S) order."""
    rot = np.asarray(affine, dtype=np.float64)[:3, :3]
    size = np.linalg.norm(rot, axis=0)
    world_axis = np.argmax(np.abs(rot / size), axis=0)  # which world axis each voxel axis follows
    return size, np.argsort(world_axis)


def _device_kind(device) -> str:
    from ..devices import resolve_device

    return "cuda" if resolve_device(device).type == "cuda" else "cpu"


def _round_up(value: float, multiple: int) -> int:
    return int(multiple * math.ceil(value / multiple - 1e-9))


def plan_grid(fp: Fingerprint, device="auto", *, spacing=None, shape=None, multiple: int = 16) -> dict:
    """The whole-head grid of classification/regression: the finest voxel size whose grid covers
    the median field of view (for brain-only input: the median brain, :func:`brain_fingerprint`)
    within the device's voxel budget.

    Args:
        fp: The dataset's fingerprint.
        device: Where training runs (``auto``, ``cpu``, ``cuda``...).
        spacing, shape: The user's values (kept; the other one is derived from them).
        multiple: Grid sizes are rounded up to this (four 2x poolings need 16).

    Returns:
        ``{"spacing": (3,), "shape": (3,), "reasons": [str, ...]}``.
    """
    kind = _device_kind(device)
    budget = GRID_BUDGET[kind]
    extent = np.asarray(fp.extent_mm)
    fov = "x".join(f"{v:.0f}" for v in extent)
    reasons = []
    if spacing is not None:
        spacing = as_triple(spacing, float)
        reasons.append(f"voxel size {_fmt(spacing)} mm given")
    else:
        finest = float(min(fp.spacing))
        for s in GRID_SPACINGS:
            if s + 1e-6 < finest:
                continue
            size = [_round_up(e / s, multiple) for e in extent]
            if math.prod(size) <= budget:
                break
        spacing = (s, s, s)
        reasons.append(f"voxel size {s:g} mm: the finest at or above the data's {finest:g} mm whose grid covers "
                       f"the median {fp.region} ({fov} mm) within the {kind.upper()} budget of {budget:,} voxels")
    if shape is not None:
        shape = as_triple(shape)
        reasons.append(f"grid {_fmt(shape)} given")
    else:
        shape = tuple(_round_up(e / sp, multiple) for e, sp in zip(extent, spacing))
        reasons.append(f"grid {_fmt(shape)}: the median {fp.region} at that voxel size, rounded up to "
                       f"a multiple of {multiple}")
    return {"spacing": spacing, "shape": shape, "reasons": reasons}


def plan_patch(fp: Fingerprint, device="auto", *, spacing=None, patch=None, base_filters=None) -> dict:
    """The segmentation patch: the median scan at the training voxel size when the device
    holds it whole (a crop such as MSD's), else a label-centred patch of :data:`HEAD_PATCH`
    (whole heads), and the U-Net width for that device.

    Returns:
        ``{"spacing": (3,), "patch_size": [3], "base_filters": int, "whole": bool, "device": str,
        "reasons": [str, ...]}`` (``whole``: the patch, planned or given, covers the median scan; ``device``:
        ``cpu`` or ``cuda``, the kind planned for). Patch sizes are before the
        network's rounding to a valid size.
    """
    kind = _device_kind(device)
    reasons = []
    if spacing is None:
        spacing = tuple(float(v) for v in fp.spacing)
        reasons.append(f"voxel size {_fmt(spacing)} mm: the data's median")
    else:
        spacing = as_triple(spacing, float)
        reasons.append(f"voxel size {_fmt(spacing)} mm given")
    if patch is not None:
        patch = list(as_triple(patch))  # 52, (52,) or three
        # a given patch that holds the median scan sees it whole, as a planned one would
        median = [_round_up(e / s, 1) for e, s in zip(fp.extent_mm, spacing)]
        whole = all(p >= v for p, v in zip(patch, median))
        reasons.append(f"patch {_fmt(patch)} given" + (
            f": it holds the median scan ({_fmt(median)} voxels) whole" if whole else ""))
    else:
        limit, head = PATCH_LIMIT[kind], HEAD_PATCH[kind]
        scan = [_round_up(e / s, 8) for e, s in zip(fp.extent_mm, spacing)]
        whole = all(v <= limit for v in scan)
        patch = scan if whole else [min(head, v) for v in scan]
        reasons.append(f"patch {_fmt(patch)}: " + (
            f"the median scan ({_fmt(fp.shape)} voxels) at that voxel size, seen whole" if whole else
            f"label-centred patches of {head} voxels a side on {kind.upper()}: the median scan "
            f"({_fmt(fp.shape)} voxels) is larger than the {limit} a side a patch holds whole"))
    if base_filters is None:
        base_filters = BASE_FILTERS[kind]
        reasons.append(f"U-Net width {base_filters} for {kind.upper()}")
    return {"spacing": spacing, "patch_size": patch, "base_filters": int(base_filters), "whole": whole,
            "device": kind, "reasons": reasons}


def plan_from_subjects(subjects: Sequence, planner, device="auto", *, progress: bool = True, brain: bool = False,
                       **given) -> dict:
    """Fingerprint the subjects' scans (``brain``: their brain masks, :func:`brain_fingerprint`),
    plan with ``planner`` (:func:`plan_grid` or :func:`plan_patch`) and print the reasons as
    ``plan:`` lines (main process only).

    Returns:
        The plan with its ``fingerprint``: what ``train`` stores in config.json ``plan``.
    """
    fp = brain_fingerprint([s.mask for s in subjects]) if brain else fingerprint([s.image for s in subjects])
    plan = planner(fp, device, **given)
    say_plan(plan["reasons"], progress)
    return {**plan, "fingerprint": fp.to_dict()}


def say_plan(reasons: Sequence[str], progress: bool = True) -> None:
    """Print ``reasons`` as ``plan:`` lines on stderr (main process only)."""
    import sys

    from .distributed import is_main_process

    if progress and is_main_process():
        for reason in reasons:
            print(f"plan: {reason}", file=sys.stderr)


def _fmt(values) -> str:
    return "x".join(f"{v:g}" for v in values)
