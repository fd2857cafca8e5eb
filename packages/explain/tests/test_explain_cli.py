"""The CLI end to end on run folders made by the core training engine (tiny phantoms, 1 epoch)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from click.testing import CliRunner

from brainmri.core.synth.table import write_phantom_table
from brainmri.core.tasks import get_task
from brainmri.core.training import TrainConfig, train
from brainmri.explain.cli import main

pytestmark = pytest.mark.slow  # trains models: minutes on CPU


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A full-head and a brain-only sex classifier and an age model, one epoch on 8 phantoms."""
    from brainmri.core.tasks import available_tasks

    missing = {"sex", "age"} - set(available_tasks())
    if missing:
        pytest.skip(f"needs the packages of the tasks {sorted(missing)} (brainmri-classify, -regress)")
    root = tmp_path_factory.mktemp("explain_runs")
    table = write_phantom_table(root / "data", n=8, seed=1, spacing=6.0, orientation=None)
    config = TrainConfig(epochs=1, batch_size=4, augment=False, patience=0)
    common = {"dataset": "table", "root": table, "arch": "vt1", "train_config": config, "device": "cpu",
              "progress": False, "evaluate_after": False, "spacing": 6.0, "shape": 32, "val": 0.25,
              "test": 0.0}
    full = train(get_task("sex"), root / "full", **common).path
    brain = train(get_task("sex"), root / "brain", mask_dir=root / "data" / "masks", **common).path
    age = train(get_task("age"), root / "age", **common).path
    return {"full": full, "brain": brain, "age": age, "data": root / "data"}


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_gradcam_writes_native_maps_montages_and_regions(runs, tmp_path):
    data = runs["data"]
    scans = sorted((data / "images").glob("*.nii.gz"))[:2]
    result = _invoke("gradcam", runs["full"], *scans, "-o", tmp_path / "out", "--mask-dir", data / "masks",
                     "--device", "cpu")
    assert result.exit_code == 0, result.output
    with open(tmp_path / "out" / "regions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == [str(s) for s in scans]
    for scan, row in zip(scans, rows):
        src = nib.load(str(scan))
        out = nib.load(row["map"])
        assert row["map"].endswith("_gradcam.nii.gz") and out.get_data_dtype() == np.float32
        assert out.shape == src.shape and np.allclose(out.affine, src.affine)
        assert row["layer"] == "instancenorm4" and row["method"] == "gradcam"
        assert abs(float(row["inside_fraction"]) + float(row["outside_fraction"]) - 1.0) < 1e-5
        # a real map: positive evidence of a size that is not rounding noise (conv4 gave ~1e-10)
        assert float(row["positive_total"]) > 0 and np.asarray(out.dataobj).max() > 1e-4
        # The CSV's fractions are those of the written map and the mask file (computed here).
        amap = np.clip(np.asarray(out.dataobj, dtype=np.float64), 0, None)
        mask = np.asarray(nib.load(str(data / "masks" / scan.name.replace("_T1w", "_T1w_mask"))).dataobj) > 0
        assert float(row["inside_fraction"]) == pytest.approx(amap[mask].sum() / amap.sum(), rel=1e-4)
        assert (tmp_path / "out" / row["montage"].split("/")[-1]).is_file()
    # A second method adds its rows beside the first.
    result = _invoke("gradcam", runs["full"], scans[0], "-o", tmp_path / "out", "--method",
                     "integrated-gradients", "--steps", "4", "--no-montage", "--device", "cpu")
    assert result.exit_code == 0, result.output
    with open(tmp_path / "out" / "regions.csv", newline="") as fh:
        methods = [r["method"] for r in csv.DictReader(fh)]
    assert methods.count("gradcam") == 2 and methods.count("integrated-gradients") == 1
    assert (tmp_path / "out" / f"{scans[0].name[:-7]}_integrated_gradients.nii.gz").is_file()


def test_gradcam_of_an_exported_model_equals_the_run_folders(runs, tmp_path):
    pytest.importorskip("safetensors", reason="the export extra (brainmri-core[export]) is not installed")
    from brainmri.core.export import write_bmri

    scan = sorted((runs["data"] / "images").glob("*.nii.gz"))[0]
    model = write_bmri(runs["full"], tmp_path / "sex.bmri")["path"]
    maps = []
    for name, source in (("run", runs["full"]), ("bmri", model)):
        result = _invoke("gradcam", source, scan, "-o", tmp_path / name, "--no-montage", "--device", "cpu")
        assert result.exit_code == 0, result.output
        maps.append(np.asarray(nib.load(str(tmp_path / name / f"{scan.name[:-7]}_gradcam.nii.gz")).dataobj))
    assert maps[0].max() > 0 and np.array_equal(maps[0], maps[1])


def test_regression_runs_explain_the_age_output(runs, tmp_path):
    scan = sorted((runs["data"] / "images").glob("*.nii.gz"))[0]
    result = _invoke("gradcam", runs["age"], scan, "-o", tmp_path, "--no-montage", "--device", "cpu")
    assert result.exit_code == 0, result.output
    with open(tmp_path / "regions.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["target"] == "age" and row["layer"] == "instancenorm4" and row["inside_fraction"] == ""
    assert nib.load(row["map"]).shape == nib.load(str(scan)).shape
    result = _invoke("gradcam", runs["age"], scan, "-o", tmp_path, "--target", "1", "--device", "cpu")
    assert result.exit_code == 1 and "regression" in result.output


def test_bad_input_gives_one_line_and_skip_goes_on(runs, tmp_path):
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"not a scan")
    good = sorted((runs["data"] / "images").glob("*.nii.gz"))[0]
    result = _invoke("gradcam", runs["full"], bad, "-o", tmp_path / "o1", "--device", "cpu")
    assert result.exit_code == 1 and "bad.nii.gz" in result.output and "Traceback" not in result.output
    result = _invoke("gradcam", runs["full"], bad, good, "-o", tmp_path / "o2", "--on-error", "skip",
                     "--no-montage", "--device", "cpu")
    assert result.exit_code == 0 and "1 scan done, 1 skipped" in result.output
    # A brain-only run needs masks, and says so.
    result = _invoke("gradcam", runs["brain"], good, "-o", tmp_path / "o3", "--device", "cpu")
    assert result.exit_code == 1 and "--mask-dir" in result.output
    result = _invoke("gradcam", runs["full"], good, "-o", tmp_path / "o4", "--layer", "nope",
                     "--device", "cpu")
    assert result.exit_code == 1 and "no layer 'nope'" in result.output


def test_layers_lists_conv_modules_and_marks_the_default(runs):
    result = _invoke("layers", runs["full"], "--device", "cpu")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert [line[1:].split()[0] for line in lines] == [f"{kind}{n}" for n in range(1, 5)
                                                       for kind in ("conv", "instancenorm")]
    assert lines[-1].startswith("*") and "4x4x4" in lines[-1]


def test_sanity_command_reports_each_step(runs, tmp_path):
    scan = sorted((runs["data"] / "images").glob("*.nii.gz"))[0]
    result = _invoke("sanity", runs["full"], scan, "-o", tmp_path / "s.json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "s.json").read_text())
    assert [s["randomized"][0] for s in report["steps"]] == ["fc", "conv4", "conv3", "conv2", "conv1"]
    assert report["flagged"] is (abs(report["final_spearman"]) > 0.9)
    assert ("FLAGGED" in result.output) is report["flagged"]


def test_explain_demo_compares_full_head_and_brain_only(runs, tmp_path):
    from brainmri.explain import explain_demo

    data = runs["data"]
    scan = sorted((data / "images").glob("*.nii.gz"))[0]
    mask = data / "masks" / scan.name.replace("_T1w", "_T1w_mask")
    rows = explain_demo({"full-head": runs["full"], "brain-only": runs["brain"]}, scan, mask, tmp_path,
                        device="cpu")
    assert [r["label"] for r in rows] == ["full-head", "brain-only"]
    full, brain = rows
    assert 0.0 <= full["inside_fraction"] <= 1.0 and 0.0 < full["brain_voxel_fraction"] < 1.0
    # the brain-only model saw no voxel outside the brain: nothing is reported there...
    assert np.isnan(brain["inside_fraction"]) and np.isnan(brain["outside_fraction"])
    # ...and its map stops at the mask, where upsampling used to spill over skull and neck
    brain_map = np.asarray(nib.load(brain["map"]).dataobj)
    outside = np.asarray(nib.load(str(mask)).dataobj) == 0
    assert brain_map.max() > 0 and not brain_map[outside].any()
    for r in rows:
        assert (tmp_path / f"{r['label']}_gradcam.png").is_file()
    with open(tmp_path / "demo_regions.csv", newline="") as fh:
        assert [r["label"] for r in csv.DictReader(fh)] == ["full-head", "brain-only"]


def test_help_lists_the_commands_without_importing_torch():
    code = ("import sys; from brainmri.explain.cli import main; "
            "main(['--help'], standalone_mode=False); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert all(c in out.stdout for c in ("gradcam", "layers", "sanity"))
    assert out.stdout.strip().endswith("False")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from brainmri.core.testing.corpus import write_bad_input_corpus

    root = tmp_path_factory.mktemp("corpus")
    return root, write_bad_input_corpus(root)


def test_gradcam_over_the_bad_input_corpus(runs, corpus, tmp_path):
    """The brain-only run, given a mask folder, as a real process: one line per bad scan (and for
    the mask on another grid), maps on the good scans' own grids, the regions table."""
    from brainmri.core.testing.corpus import sweep, with_mask_folder

    root, cases = corpus
    masks = tmp_path / "masks"
    given = {**with_mask_folder(cases, masks), "empty_folder": cases["empty_folder"]}
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "brainmri.explain", "gradcam", str(runs["brain"])]
    sweep(cmd, given, corpus=root, out_dir=out, extra=["-o", out, "--mask-dir", masks, "--no-montage",
                                                       "--device", "cpu"])
    with open(out / "regions.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    good = [c for c in given.values() if c.good]
    assert [r["file"] for r in rows] == [str(c.path) for c in good]
    for case, row in zip(good, rows):
        assert nib.load(row["map"]).shape == nib.load(str(case.path)).shape
        assert float(row["positive_total"]) > 0
        assert row["inside_fraction"] == row["outside_fraction"] == ""  # brain-only input: not reported
    sweep([sys.executable, "-m", "brainmri.explain", "gradcam", str(runs["full"])],
          {"singular": cases["singular_affine"], "good": cases["good"]}, corpus=root, out_dir=tmp_path / "fail",
          extra=["-o", tmp_path / "fail", "--no-montage", "--device", "cpu"], on_error="fail")


def test_a_degenerate_map_is_one_error_line_and_no_file(runs, tmp_path):
    scan = sorted((runs["data"] / "images").glob("*.nii.gz"))[0]
    proc = subprocess.run([sys.executable, "-m", "brainmri.explain", "gradcam", str(runs["full"]), str(scan),
                           "-o", str(tmp_path), "--layer", "conv4", "--device", "cpu"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "'conv4' is degenerate" in errors[0] and scan.name in errors[0]
    assert not list(tmp_path.glob("*_gradcam.nii.gz"))


def test_gradcam_qc_page_shows_the_montages_and_the_regions_numbers(runs, tmp_path):
    from brainmri.core.testing.browser import MISSING, cell_mismatches, find_chromium, read_batch_page
    from brainmri.explain.report import COLUMNS

    if find_chromium() is None:
        pytest.skip(MISSING)
    data = runs["data"]
    scans = sorted((data / "images").glob("*.nii.gz"))[:2]
    out = tmp_path / "out"
    result = _invoke("gradcam", runs["full"], *scans, tmp_path / "missing.nii.gz", "-o", out, "--mask-dir",
                     data / "masks", "--device", "cpu", "--on-error", "skip")
    assert result.exit_code == 0, result.output
    with open(out / "regions.csv", newline="") as fh:
        table = {Path(r["file"]).name: r for r in csv.DictReader(fh)}
    seen = read_batch_page(out / "report.html", {scans[1].name: ("good", "")})
    assert seen["errors"] == [] and seen["remote"] == [] and seen["pictures_loaded"]
    names = [r["scan"] for r in seen["rows"]]
    assert names[0] == "missing.nii.gz" and sorted(names[1:]) == sorted(table)  # the skipped scan is flagged first
    assert seen["markers"][0] == "flagged" and len(seen["markers"]) == 3
    assert cell_mismatches(seen["rows"][1:], table, COLUMNS) == []
    assert f"{scans[1].name},{scans[1]},good,," in seen["exported"]
