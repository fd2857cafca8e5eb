"""The brainmri-core command: info and preprocess on real files, errors in one line, --on-error."""

from __future__ import annotations

import json
import subprocess
import sys

import nibabel as nib
import numpy as np

from brainmri.core.testing import real_scan, write_nifti


def _run(*args):
    return subprocess.run([sys.executable, "-m", "brainmri.core.cli", *map(str, args)], capture_output=True,
                          text=True)


def test_help_lists_every_command():
    out = _run("--help")
    assert out.returncode == 0
    for cmd in ("info", "preprocess", "skullstrip", "synth", "split"):
        assert cmd in out.stdout


def test_info_reports_real_geometry():
    out = _run("info", "--json", real_scan("t1_lia.nii.gz"))
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["orientation"] == "LIA"
    assert info["shape"] == [256, 256, 256]
    assert info["spacing_mm"] == [1.0, 1.0, 1.0]


def test_bad_scan_fails_in_one_line_and_skip_goes_on(tmp_path):
    bad = tmp_path / "bad scan é.nii.gz"
    bad.write_bytes(b"not an image at all")
    good = write_nifti(tmp_path / "good.nii.gz", np.random.default_rng(0).random((5, 6, 7)).astype(np.float32))
    fail = _run("info", bad, good)
    assert fail.returncode == 1
    lines = [line for line in fail.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in fail.stderr
    skip = _run("info", "--on-error", "skip", bad, good)
    assert "good.nii.gz" in skip.stdout
    assert f"skipped {bad}" in skip.stderr


def test_preprocess_writes_model_grid_nifti(tmp_path):
    src = real_scan("chris_pd.nii.gz")
    out = _run("preprocess", src, "-o", tmp_path, "--spacing", "2", "--shape", "96", "112", "96")
    assert out.returncode == 0, out.stderr
    img = nib.load(str(tmp_path / "chris_pd_preproc.nii.gz"))
    assert img.shape == (96, 112, 96)
    assert np.allclose(img.affine[:3, :3], np.diag([2.0, 2.0, 2.0]))
    src_img = nib.load(str(src))
    centre = src_img.affine @ np.append((np.array(src_img.shape) - 1) / 2, 1)
    np.testing.assert_allclose(img.affine @ np.append((np.array(img.shape) - 1) / 2, 1), centre, atol=1e-4)
    config = json.loads((tmp_path / "preprocess.json").read_text())
    assert config["spacing"] == [2.0, 2.0, 2.0] and config["shape"] == [96, 112, 96]
    assert not any(v for k, v in config["augment"].items())  # nothing random was applied: none recorded
    assert not list(tmp_path.glob(".*part*"))


def test_preprocess_png_shows_the_users_scan_with_the_grid_it_keeps(tmp_path):
    """--png: the scan as stored (LIA here) with the model grid's outline, one picture per scan."""
    import matplotlib.image as mpimg

    from brainmri.core.orientation import reorient
    from brainmri.core.testing import blob_volume

    lia = reorient(blob_volume(), "LIA")
    scan = write_nifti(tmp_path / "lia.nii.gz", lia.data, lia.affine)
    out = tmp_path / "out"
    proc = _run("preprocess", str(scan), "-o", str(out), "--shape", "12", "--spacing", "3", "--png")
    assert proc.returncode == 0, proc.stderr
    rgb = mpimg.imread(str(out / "lia_preproc.png"))[..., :3]
    # the grid (36 mm) is smaller than the scan (48-54 mm): its dashed yellow outline is drawn
    yellow = (rgb[..., 0] > 0.8) & (rgb[..., 1] > 0.75) & (rgb[..., 2] < 0.3)
    assert yellow.sum() > 50
