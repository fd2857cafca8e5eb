"""Training defaults planned from the dataset's fingerprint and the device."""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import torch

from brainmri.core.testing import require_shared
from brainmri.core.training.planning import (
    GRID_BUDGET,
    GRID_SPACINGS,
    PATCH_LIMIT,
    Fingerprint,
    fingerprint,
    plan_grid,
    plan_patch,
)


def test_fingerprint_is_in_world_axes_whatever_the_storage_order(tmp_path):
    root = require_shared("data", "ixi-hh")
    scans = sorted(root.glob("IXI*-T1.nii.gz"))[:3]
    ras = []
    for p in scans:
        img = nib.as_closest_canonical(nib.load(str(p)))
        out = tmp_path / p.name
        nib.save(img, str(out))
        ras.append(out)
    stored, canonical = fingerprint(scans), fingerprint(ras)
    assert stored == canonical
    # 120x120x90 voxels of 2 mm stored PSR: R-L is the 90-voxel axis, so 180 x 240 x 240 mm in RAS.
    assert stored.spacing == (2.0, 2.0, 2.0)
    assert stored.shape == (90, 120, 120)
    assert stored.extent_mm == (180.0, 240.0, 240.0)


def _voxels(fp: Fingerprint, s: float) -> int:
    return math.prod(16 * math.ceil(e / s / 16) for e in fp.extent_mm)


def test_grid_plan_is_the_finest_voxel_size_that_covers_the_head_within_the_device_budget():
    fp = Fingerprint(40, (2.0, 2.0, 2.0), (90, 120, 120), (180.0, 240.0, 240.0))
    for kind in ("cpu",):
        plan = plan_grid(fp, kind)
        s = plan["spacing"][0]
        shape = plan["shape"]
        assert all(n * s >= e for n, e in zip(shape, fp.extent_mm))  # the whole field of view
        assert math.prod(shape) <= GRID_BUDGET[kind]
        finer = [v for v in GRID_SPACINGS if 2.0 <= v < s]
        assert all(_voxels(fp, v) > GRID_BUDGET[kind] for v in finer)  # nothing finer fits
        assert all(n % 16 == 0 for n in shape)
        assert plan["reasons"] and "CPU" in plan["reasons"][0]


def test_grid_plan_keeps_what_the_user_gave():
    fp = Fingerprint(40, (1.0, 1.0, 1.0), (256, 256, 256), (256.0, 256.0, 256.0))
    plan = plan_grid(fp, "cpu", spacing=(3.0, 3.0, 3.0))
    assert plan["spacing"] == (3.0, 3.0, 3.0)
    assert plan["shape"] == (96, 96, 96)  # 256 mm / 3 mm = 85.3, up to a multiple of 16
    plan = plan_grid(fp, "cpu", spacing=(2.0, 2.0, 2.0), shape=(64, 64, 64))
    assert plan["shape"] == (64, 64, 64) and any("given" in r for r in plan["reasons"])
    # One number, as train(spacing=6.0) takes it (the CLI expands it; this raised TypeError).
    plan = plan_grid(fp, "cpu", spacing=6.0, shape=[48])
    assert plan["spacing"] == (6.0, 6.0, 6.0) and plan["shape"] == (48, 48, 48)
    assert plan_grid(fp, "cpu", spacing=6.0)["shape"] == (48, 48, 48)  # 256 / 6 = 42.7, up to 48


def test_patch_plan_sees_a_decathlon_crop_whole_and_caps_a_full_head():
    root = require_shared("data", "Task04_Hippocampus")
    images = sorted((root / "imagesTr").glob("*.nii.gz"))
    fp = fingerprint(images)
    shapes = np.array([nib.load(str(p)).shape for p in images[:: max(1, len(images) // 64)]])
    plan = plan_patch(fp, "cpu")
    assert plan["spacing"] == (1.0, 1.0, 1.0)
    assert np.all(np.asarray(plan["patch_size"]) >= np.median(shapes, axis=0))
    assert max(plan["patch_size"]) <= PATCH_LIMIT["cpu"]
    assert plan["whole"]  # segment plans padded convolutions for it
    head = Fingerprint(10, (1.0, 1.0, 1.0), (256, 256, 256), (256.0, 256.0, 256.0))
    # A head is larger than a CPU patch holds whole: label-centred 48^3 patches (cross-validated
    # on IXI-HH heads: 48^3 beat 64^3), 128^3 on CUDA; an axis shorter than that keeps its size.
    assert plan_patch(head, "cpu")["patch_size"] == [48, 48, 48]
    assert plan_patch(head, torch.device("cuda"))["patch_size"] == [128, 128, 128]  # named, not used
    assert not plan_patch(head, "cpu")["whole"]
    slab = Fingerprint(10, (1.0, 1.0, 1.0), (256, 256, 40), (256.0, 256.0, 40.0))
    assert plan_patch(slab, "cpu")["patch_size"] == [48, 48, 40]
    given = plan_patch(head, "cpu", patch=[32, 32, 32], base_filters=8)
    assert given["base_filters"] == 8 and not given["whole"]
    # A given patch that holds the median crop (35x50x35 voxels), exactly or with room, sees it
    # whole, so segment plans padding and schedule as for the planned one; a patch one voxel short
    # on any axis is a label-centred patch.
    crop = Fingerprint(10, (1.0, 1.0, 1.0), (35, 50, 35), (35.0, 50.0, 35.0))
    assert plan_patch(crop, "cpu", patch=[35, 50, 35])["whole"]
    assert plan_patch(crop, "cpu", patch=[40, 56, 40])["whole"]
    assert not plan_patch(crop, "cpu", patch=[34, 50, 35])["whole"]
    assert not plan_patch(crop, "cpu", patch=32)["whole"]
    half = plan_patch(crop, "cpu", spacing=2.0, patch=[18, 25, 18])  # the median at 2 mm: 17.5x25x17.5
    assert half["whole"] and any("holds the median scan (18x25x18 voxels) whole" in r for r in half["reasons"])


def test_plan_from_subjects_prints_its_reasons_and_keeps_the_fingerprint(tmp_path, capsys):
    from types import SimpleNamespace

    from brainmri.core.training.planning import plan_from_subjects

    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    paths = []
    for i in range(3):
        p = tmp_path / f"s{i}.nii.gz"
        nib.save(nib.Nifti1Image(np.zeros((40, 48, 32), np.uint8), affine), str(p))
        paths.append(p)
    subjects = [SimpleNamespace(image=p) for p in paths]
    plan = plan_from_subjects(subjects, plan_patch, "cpu", progress=True, spacing=None, patch=None, base_filters=None)
    assert plan["fingerprint"] == {
        "n": 3,
        "spacing": (1.5, 1.5, 1.5),
        "shape": (40, 48, 32),
        "extent_mm": (60.0, 72.0, 48.0),
        "region": "field of view",
    }
    assert plan["patch_size"] == [40, 48, 32]  # 40x48x32 voxels seen whole (multiples of 8, under the CPU cap)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("plan: ")]
    assert lines == [f"plan: {r}" for r in plan["reasons"]] and len(lines) == 3
    plan_from_subjects(subjects, plan_grid, "cpu", progress=False)
    assert capsys.readouterr().err == ""
