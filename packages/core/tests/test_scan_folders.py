"""Folders given to batch commands: masks and label maps are not scans; ``--glob`` narrows."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from brainmri.core.testing import blob_volume, write_nifti

CMD = [sys.executable, "-m", "brainmri.core.cli", "preprocess"]
GRID = ["--spacing", "4", "--shape", "16", "16", "16", "--device", "cpu"]


@pytest.fixture
def folder(tmp_path):
    """A scan, its binary brain mask (uint8, named like HD-BET's), a label map with an innocent
    name (int16, values 0/17/53) and a float mask named _seg, in nested folders."""
    vol = blob_volume()
    root = tmp_path / "data"
    write_nifti(root / "sub-01" / "head.nii.gz", vol.data, vol.affine)
    write_nifti(root / "masks" / "head_mask.nii.gz", (vol.data > vol.data.mean()).astype(np.uint8), vol.affine)
    labels = np.zeros(vol.shape, dtype=np.int16)
    labels[5:10, 5:10, 5:10], labels[15:20, 15:20, 15:20] = 17, 53
    write_nifti(root / "derivatives" / "head_parcels.nii.gz", labels, vol.affine)
    write_nifti(root / "derivatives" / "head_seg.nii.gz", (vol.data > 1).astype(np.float32), vol.affine)
    return root


def _run(*args):
    return subprocess.run([*CMD, *map(str, args), *GRID], capture_output=True, text=True, timeout=300)


def test_a_folder_processes_its_scan_and_names_each_skipped_mask(folder, tmp_path):
    proc = _run(folder, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*_preproc.nii.gz")) == ["head_preproc.nii.gz"]
    notes = [line for line in proc.stderr.splitlines() if line.startswith("note: skipped ")]
    assert len(notes) == 3, proc.stderr
    named = {
        name: next(n for n in notes if f"/{name}:" in n)
        for name in ("head_mask.nii.gz", "head_parcels.nii.gz", "head_seg.nii.gz")
    }
    assert "'mask'" in named["head_mask.nii.gz"] and "'seg'" in named["head_seg.nii.gz"]
    assert "only 3 integer values" in named["head_parcels.nii.gz"]  # found by its values, not its name
    assert "1 scan done" in proc.stderr


def test_a_binary_file_with_a_scan_like_name_is_skipped_by_its_values(tmp_path):
    vol = blob_volume()
    write_nifti(tmp_path / "in" / "brain.nii.gz", (vol.data > vol.data.mean()).astype(np.uint8), vol.affine)
    write_nifti(tmp_path / "in" / "t1.nii.gz", vol.data, vol.affine)
    proc = _run(tmp_path / "in", "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "brain.nii.gz: a mask or label map (binary values 0 and 1)" in proc.stderr
    assert [p.name for p in (tmp_path / "out").glob("*_preproc.nii.gz")] == ["t1_preproc.nii.gz"]


def test_a_mask_named_explicitly_is_processed_with_a_note(folder, tmp_path):
    mask = folder / "masks" / "head_mask.nii.gz"
    proc = _run(mask, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "head_mask_preproc.nii.gz").is_file()
    assert f"note: {mask} looks like a mask or label map" in proc.stderr


def test_glob_selects_files_in_folders_but_not_named_ones(folder, tmp_path):
    vol = blob_volume(seed=3)
    other = write_nifti(tmp_path / "elsewhere" / "named.nii.gz", vol.data, vol.affine)
    write_nifti(folder / "sub-02" / "head2.nii.gz", vol.data, vol.affine)
    proc = _run(folder, other, "-o", tmp_path / "out", "--glob", "sub-01/*.nii.gz")
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in (tmp_path / "out").glob("*_preproc.nii.gz"))
    assert made == ["head_preproc.nii.gz", "named_preproc.nii.gz"]
    assert "note: skipped" not in proc.stderr  # the masks did not match the pattern: not even looked at


def test_info_still_describes_masks(folder):
    proc = subprocess.run(
        [sys.executable, "-m", "brainmri.core.cli", "info", str(folder / "masks")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "head_mask.nii.gz" in proc.stdout


@pytest.mark.parametrize(
    ("n", "noun", "expected"),
    [(1, "scans", "1 scan"), (0, "scans", "0 scans"), (2, "scan", "2 scans"), (1, "inputs", "1 input")],
)
def test_counts_have_their_noun_in_the_right_number(n, noun, expected):
    from brainmri.core.wording import counted

    assert counted(n, noun) == expected
