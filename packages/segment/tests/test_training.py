"""A short CPU training on synthetic HarP phantoms, then predict and evaluate through the CLI.

One module-scoped run (about a minute on 2 cores) serves every test here: the held-out Dice,
the run folder, predictions on the native grids of scans stored RAS, LAS and PIL, the
volume table and the evaluate command.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from click.testing import CliRunner

from brainmri.core.geometry import mask_centroid_world
from brainmri.core.io import load_volume, save_volume
from brainmri.core.orientation import reorient
from brainmri.core.testing import synthetic_dataset
from brainmri.core.testing.corpus import partial_files
from brainmri.segment.cli import main

pytestmark = pytest.mark.slow  # trains models: minutes on CPU

TRAIN_ARGS = [
    "--spacing",
    "3",
    "--shape",  # the patch, given as X Y Z as in every command
    "52",
    "52",
    "52",
    "--inference-roi",
    "128",
    "--levels",
    "3",
    "--base-filters",
    "8",
    "--norm",
    "batch",
    "--epochs",
    "20",
    "--batch-size",
    "2",
    "--patches-per-scan",
    "4",
    "--foreground-fraction",
    "0.5",
    "--class-weights",
    "1",
    "10",
    "10",
    "--lr",
    "0.01",
    "--rotation",
    "0",
    "--scale",
    "0",
    "--no-intensity-augment",
    "--val",
    "0",
    "--tta",
    "flip-x",
    "--device",
    "cpu",
    "--quiet",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("harp")
    manifest = synthetic_dataset(root, "adni", subjects=16, seed=3)
    run = tmp_path_factory.mktemp("runs") / "hippo"
    result = CliRunner().invoke(
        main,
        ["train", "--dataset", "adni", "--root", str(root), "--out", str(run), *TRAIN_ARGS],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return root, run, manifest


def _test_scans(root: Path, manifest: dict) -> list[Path]:
    return [root / s["image"] for s in manifest["subjects"].values() if s["split"] == "test"]


def test_run_folder_uses_harps_own_split(trained):
    root, run, manifest = trained
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "hippocampus" and config["arch"] == "vt1-unet"
    assert config["model"]["out_features"] == 3 and config["task_config"]["classes"] == {
        "1": "left",
        "2": "right",
    }
    assert config["pipeline"]["augment"]["lr_label_pairs"] == [[1, 2]]
    assert config["task_config"]["patch_size"] == [52, 52, 52]
    split = json.loads((run / "split.json").read_text())
    truth = manifest["subjects"]
    assert sorted(split["test"]) == sorted(k for k, v in truth.items() if v["split"] == "test")
    assert sorted(split["train"] + split["val"]) == sorted(
        k for k, v in truth.items() if v["split"] == "train"
    )
    assert (run / "checkpoints" / "last.pt").is_file()
    with open(run / "log.csv") as fh:
        log = list(csv.DictReader(fh))
    assert len(log) == 20 and float(log[-1]["train_loss"]) < float(log[0]["train_loss"])


def test_held_out_dice_is_well_above_chance(trained):
    _, run, _ = trained
    metrics = json.loads((run / "metrics.json").read_text())["test"]
    assert metrics["n"] == 4
    # Chance (a random 3-class map) scores about 0.01 on structures this small.
    assert metrics["dice_left"]["mean"] > 0.5 and metrics["dice_right"]["mean"] > 0.5
    assert metrics["hd95_left"]["n_inf"] == 0 and metrics["hd95_mean"]["mean"] < 15.0
    with open(run / "predictions.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "test"]
    assert len(rows) == 4 and all(float(r["dice_mean"]) > 0.3 for r in rows)


@pytest.fixture(scope="module")
def predicted(trained, tmp_path_factory):
    """``predict`` (a real process) on the held-out scans and on RAS/LAS/PIL copies of one of them."""
    root, run, manifest = trained
    scans = _test_scans(root, manifest)
    copies = tmp_path_factory.mktemp("orient")
    volume = load_volume(scans[0])
    oriented = {}
    for code in ("RAS", "LAS", "PIL"):
        oriented[code] = save_volume(reorient(volume, code), copies / f"copy_{code}.nii.gz")
    out = tmp_path_factory.mktemp("pred")
    cmd = [
        sys.executable,
        "-m",
        "brainmri.segment",
        "predict",
        str(run),
        *map(str, scans),
        str(copies),
        "-o",
        str(out),
        "--device",
        "cpu",
        "--png",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    return scans, oriented, out, proc


def test_predict_prints_a_volume_table_and_a_picture_per_scan(predicted):
    from brainmri.core.testing.tables import parse_table

    scans, oriented, out, proc = predicted
    rows = parse_table(proc.stdout)
    assert len(rows) == len(scans) + len(oriented) and "{" not in proc.stdout
    assert {"output", "left_mm3", "right_mm3"} <= set(rows[0])
    assert all(float(r["left_mm3"]) >= 0 and "." not in r["left_mm3"] for r in rows)  # whole mm3
    for row in rows:
        picture = Path(row["output"].removesuffix(".nii.gz") + ".png")
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predictions_have_the_input_shape_affine_and_world_sides(predicted):
    scans, oriented, out, _ = predicted
    for scan in [*scans, *oriented.values()]:
        src = nib.load(str(scan))
        name = Path(scan).name.replace(".nii.gz", "").replace(".nii", "")
        pred = nib.load(str(out / f"{name}_hippocampus.nii.gz"))
        assert pred.shape == src.shape and np.allclose(pred.affine, src.affine, atol=1e-6)
        labels = np.asarray(pred.dataobj)
        assert labels.dtype == np.uint8 and set(np.unique(labels)) <= {0, 1, 2}
        left, right = (mask_centroid_world(labels == v, pred.affine)[0] for v in (1, 2))
        # A swap puts left to the right of right. The 20-epoch phantom model can miss one held-out
        # hippocampus and put a small blob near the midline instead (013_S_1139 on an AVX-512 CPU:
        # Dice left 0, label 1 at x = +3 mm), so the side of 0 is asserted on the copies of the
        # scan it segments, in every storage order, and the order left < right on every scan.
        assert left < right, (scan, left, right)
        if scan in oriented.values():
            assert left < 0 < right, (scan, left, right)


def test_storage_order_does_not_change_the_segmentation(predicted):
    _, oriented, out, _ = predicted
    per_code = {}
    for code in oriented:
        img = nib.load(str(out / f"copy_{code}_hippocampus.nii.gz"))
        per_code[code] = reorient(
            load_volume(out / f"copy_{code}_hippocampus.nii.gz", check_values=False), "RAS"
        ).data
        assert nib.aff2axcodes(img.affine) == tuple(code)
    ras = per_code["RAS"]
    for code in ("LAS", "PIL"):
        for value in (1, 2):
            a, b = ras == value, per_code[code] == value
            assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.97


def test_volume_table_matches_the_label_files(predicted):
    scans, _, out, proc = predicted
    with open(out / "hippocampus_volumes.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(scans) + 3
    for row in rows:
        img = nib.load(row["output"])
        labels = np.asarray(img.dataobj)
        voxel = abs(np.linalg.det(img.affine[:3, :3]))
        assert float(row["left_mm3"]) == pytest.approx((labels == 1).sum() * voxel, rel=1e-5)
        assert float(row["right_mm3"]) == pytest.approx((labels == 2).sum() * voxel, rel=1e-5)
    assert "hippocampus_volumes.csv" in proc.stderr


def test_evaluate_scores_the_prediction_folder(trained, predicted):
    from brainmri.core.datasets import load_dataset, load_labels

    root, run, _ = trained
    _, _, out, _ = predicted
    result = CliRunner().invoke(
        main,
        ["evaluate", "--pred", str(out), "--dataset", "adni", "--root", str(root), "--split", "test"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "dice_left:" in result.output and "hd95_right:" in result.output
    with open(out / "evaluation_test.csv") as fh:
        rows = {r["subject_id"]: r for r in csv.DictReader(fh)}
    summary = json.loads((out / "evaluation_test.json").read_text())
    subjects = load_dataset("adni", root, split="test").subjects
    assert set(rows) == {s.subject_id for s in subjects} and summary["n"] == len(subjects)
    for s in subjects:  # Dice recomputed here from the files
        pred = np.asarray(
            nib.load(str(out / f"{Path(s.image).name.split('.nii')[0]}_hippocampus.nii.gz")).dataobj
        )
        truth = load_labels(s).data
        for value, side in ((1, "left"), (2, "right")):
            p, t = pred == value, truth == value
            assert float(rows[s.subject_id][f"dice_{side}"]) == pytest.approx(
                2 * (p & t).sum() / (p.sum() + t.sum()), abs=1e-5
            )
    run_metrics = json.loads((run / "metrics.json").read_text())["test"]
    assert summary["metrics"]["dice_mean"]["mean"] == pytest.approx(
        run_metrics["dice_mean"]["mean"], abs=1e-6
    )


def test_evaluate_names_a_missing_prediction_and_fails(trained, tmp_path):
    root, _, _ = trained
    result = CliRunner().invoke(
        main, ["evaluate", "--pred", str(tmp_path), "--dataset", "adni", "--root", str(root)]
    )
    assert result.exit_code == 1
    assert "no prediction for" in result.output and "_hippocampus.nii.gz" in result.output


def test_train_refuses_an_existing_run(trained):
    root, run, _ = trained
    result = CliRunner().invoke(main, ["train", "--dataset", "adni", "--root", str(root), "--out", str(run)])
    assert result.exit_code == 1 and "already holds a run" in result.output


def test_predict_reports_a_bad_scan_in_one_line_and_skips_it_on_request(trained, tmp_path):
    root, run, manifest = trained
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"not a scan")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["predict", str(run), str(bad), "-o", str(out), "--device", "cpu"])
    assert result.exit_code == 1 and f"error: {bad}: not a readable image" in result.output
    assert "Traceback" not in result.output
    good = _test_scans(root, manifest)[0]
    result = CliRunner().invoke(
        main,
        ["predict", str(run), str(bad), str(good), "-o", str(out), "--device", "cpu", "--on-error", "skip"],
    )
    assert result.exit_code == 0 and "1 scan done, 1 skipped" in result.output
    assert len(list(out.glob("*_hippocampus.nii.gz"))) == 1


def test_overlay_png_is_written(trained, predicted, tmp_path):
    from brainmri.core.datasets import load_dataset, load_labels
    from brainmri.segment.plotting import overlay_png

    root, _, _ = trained
    _, _, out, _ = predicted
    subject = load_dataset("adni", root, split="test").subjects[0]
    pred = load_volume(
        out / f"{Path(subject.image).name.split('.nii')[0]}_hippocampus.nii.gz", check_values=False
    )
    path = overlay_png(
        load_volume(subject.image), pred.data, tmp_path / "overlay.png", load_labels(subject).data
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from brainmri.core.testing.corpus import write_bad_input_corpus

    root = tmp_path_factory.mktemp("corpus")
    return root, write_bad_input_corpus(root)


@pytest.fixture(scope="module")
def corpus_predicted(trained, corpus, tmp_path_factory):
    """``predict --on-error skip`` over every corpus scan, the empty folder and the scans of its HarP
    folder with broken labels (good scans, whose predictions ``evaluate`` scores below)."""
    from brainmri.core.testing.corpus import Case, scan_cases, sweep

    _, run, _ = trained
    root, cases = corpus
    harp = cases["label_unexpected_values"].path.parents[1]
    given = {**scan_cases(cases), "empty_folder": cases["empty_folder"]}
    given.update({p.name: Case(p, None) for p in sorted((harp / "ADNI").rglob("*.nii.gz"))})
    out = tmp_path_factory.mktemp("corpus_pred")
    cmd = [sys.executable, "-m", "brainmri.segment", "predict", str(run)]
    proc = sweep(cmd, given, corpus=root, out_dir=out, extra=["-o", out, "--device", "cpu"])
    return harp, out, given, proc


def test_predict_over_the_bad_input_corpus(trained, corpus, corpus_predicted, tmp_path):
    from brainmri.core.testing.corpus import sweep

    _, run, _ = trained
    root, cases = corpus
    _, out, given, _ = corpus_predicted
    for case in given.values():  # labels on each good scan's own grid, nothing for the others
        name = Path(case.path).name.split(".nii")[0]
        pred = out / f"{name}_hippocampus.nii.gz"
        assert pred.is_file() == case.good
        if case.good:
            assert nib.load(str(pred)).shape == nib.load(str(case.path)).shape
    with open(out / "hippocampus_volumes.csv", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == sum(c.good for c in given.values())
    sweep([sys.executable, "-m", "brainmri.segment", "predict", str(run)],
          {"four_d": cases["four_d"], "good": cases["good"]}, corpus=root, out_dir=tmp_path,
          extra=["-o", tmp_path, "--device", "cpu"], on_error="fail")


def test_evaluate_names_each_broken_label_file(corpus, corpus_predicted):
    from brainmri.core.testing.corpus import check_reported, digests, error_lines, partial_files

    root, cases = corpus
    harp, out, _, _ = corpus_predicted
    bad = [cases["label_unexpected_values"], cases["label_mismatched_geometry"]]
    before = digests(root)
    cmd = [sys.executable, "-m", "brainmri.segment", "evaluate", "--pred", str(out), "--dataset", "adni",
           "--root", str(harp), "--split", "test"]
    skip = subprocess.run([*cmd, "--on-error", "skip"], capture_output=True, text=True)
    assert skip.returncode == 0 and "Traceback" not in skip.stderr, skip.stderr
    assert len(error_lines(skip.stderr)) == 2, skip.stderr
    for case in bad:
        check_reported(skip.stderr, case)
    assert "3 subjects done, 2 skipped" in skip.stderr
    with open(out / "evaluation_test.csv", encoding="utf-8") as fh:
        assert sorted(r["subject_id"] for r in csv.DictReader(fh)) == ["002_S_0101", "005_S_0202", "007_S_0303"]
    fail = subprocess.run(cmd, capture_output=True, text=True)
    assert fail.returncode == 1 and "Traceback" not in fail.stderr, fail.stderr
    assert len(error_lines(fail.stderr)) == 1
    check_reported(fail.stderr, bad[0])
    assert digests(root) == before and not partial_files(out)


def test_train_names_a_broken_label_file_and_can_start_again(corpus, tmp_path):
    """Labels are read while training: a broken one stops the run in one line, and the run folder,
    which has no checkpoint yet, takes a new start instead of refusing it."""
    from brainmri.core.testing.corpus import check_reported, digests, error_lines, partial_files

    root, cases = corpus
    harp = cases["label_unexpected_values"].path.parents[1]
    before = digests(root)
    run = tmp_path / "run"
    for name, subject in (("label_unexpected_values", "011_S_0404"), ("label_mismatched_geometry", "013_S_0505")):
        split = tmp_path / f"{subject}.json"
        split.write_text(json.dumps({"train": ["002_S_0101", subject], "val": [], "test": []}))
        proc = subprocess.run(
            [sys.executable, "-m", "brainmri.segment", "train", "--dataset", "adni", "--root", str(harp), "--out",
             str(run), "--split-file", str(split), "--spacing", "3", "--patch-size", "52", "--levels", "3",
             "--base-filters", "8", "--epochs", "1", "--val", "0", "--device", "cpu", "--quiet"],
            capture_output=True, text=True)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert len(error_lines(proc.stderr)) == 1, proc.stderr
        check_reported(proc.stderr, cases[name])
    assert digests(root) == before and not partial_files(run)


def _predict_cmd(run, scans, out, *extra):
    return [sys.executable, "-m", "brainmri.segment", "predict", str(run), *map(str, scans), "-o", str(out),
            "--device", "cpu", *extra]


def _same_labels(a: Path, b: Path) -> None:
    ia, ib = nib.load(str(a)), nib.load(str(b))
    np.testing.assert_array_equal(ia.affine, ib.affine)
    np.testing.assert_array_equal(np.asanyarray(ia.dataobj), np.asanyarray(ib.dataobj))


def test_predict_in_two_shares_equals_one_process(trained, predicted, tmp_path):
    """``--shard 1/2`` and ``2/2`` at the same time into one folder: the label files of one process."""
    _, run, _ = trained
    scans, oriented, single, _ = predicted
    inputs = [*scans, oriented["RAS"].parent]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(_predict_cmd(run, inputs, tmp_path, "--shard", f"{i}/2"), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
    made = sorted(p.name for p in tmp_path.glob("*_hippocampus.nii.gz"))
    assert made == sorted(p.name for p in single.glob("*_hippocampus.nii.gz")) and len(made) == 7
    for name in made:
        _same_labels(single / name, tmp_path / name)
    tables = [tmp_path / f"hippocampus_volumes.shard{i}of2.csv" for i in (1, 2)]
    rows = [row for table in tables for row in csv.DictReader(open(table, newline=""))]
    with open(single / "hippocampus_volumes.csv", newline="") as fh:
        expected = list(csv.DictReader(fh))
    assert sorted(r["file"] for r in rows) == sorted(r["file"] for r in expected)
    by_file = {r["file"]: r for r in expected}
    assert all({k: v for k, v in r.items() if k != "output"} == {k: v for k, v in by_file[r["file"]].items()
               if k != "output"} for r in rows)
    assert not partial_files(tmp_path)


def test_killed_batch_predict_reruns_to_every_output(trained, predicted, tmp_path):
    """SIGKILL as soon as the first label file lands (the next is being computed or written);
    the rerun completes every output, equal to an uninterrupted run, with no partial file."""
    _, run, _ = trained
    scans, oriented, single, _ = predicted
    inputs = [*scans, oriented["RAS"].parent]
    proc = subprocess.Popen(_predict_cmd(run, inputs, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None and not any(tmp_path.glob("*_hippocampus.nii.gz")):
        time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    done_before = sorted(p.name for p in tmp_path.glob("*_hippocampus.nii.gz"))
    assert 1 <= len(done_before) < 7
    for name in done_before:  # what the killed run left is complete, never half a file
        _same_labels(single / name, tmp_path / name)
    rerun = subprocess.run(_predict_cmd(run, inputs, tmp_path), capture_output=True, text=True,
                           env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    for name in (p.name for p in single.glob("*_hippocampus.nii.gz")):
        _same_labels(single / name, tmp_path / name)
    assert not partial_files(tmp_path)
    with open(tmp_path / "hippocampus_volumes.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 7


def test_exported_model_segments_identically_and_onnx_matches(trained, predicted, tmp_path):
    """``export`` (shared core command): the .bmri file segments exactly as the run folder; the
    ONNX network (one sliding window; the window loop stays in Python) matches PyTorch."""
    import torch

    from brainmri.core.tasks import load_run

    _, run, _ = trained
    scans, _, out, _ = predicted
    model_file = tmp_path / "hippo.bmri"
    result = CliRunner().invoke(main, ["export", str(run), "-o", str(model_file)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        main, ["predict", str(model_file), str(scans[0]), "-o", str(tmp_path / "pred"), "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    name = Path(scans[0]).name.replace(".nii.gz", "")
    a = np.asarray(nib.load(str(out / f"{name}_hippocampus.nii.gz")).dataobj)
    b = np.asarray(nib.load(str(tmp_path / "pred" / f"{name}_hippocampus.nii.gz")).dataobj)
    assert a.any() and np.array_equal(a, b)

    ort = pytest.importorskip("onnxruntime", reason="the export extra (brainmri-core[export]) is not installed")
    result = CliRunner().invoke(main, ["export", str(model_file), "-o", str(tmp_path / "h.onnx"), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    task, model, pipeline_config, config = load_run(model_file, "cpu")
    grid = task.predictor(model, pipeline_config, config["task_config"]).prepare(load_volume(scans[0])).image.float()
    roi = config["task_config"]["inference_roi"]
    window = torch.zeros(1, 1, *roi)  # the scan's grid in one window (zero-padded), as the sliding window feeds it
    n = [min(g, r) for g, r in zip(grid.shape[2:], roi)]
    window[..., : n[0], : n[1], : n[2]] = grid[..., : n[0], : n[1], : n[2]]
    with torch.inference_mode():
        expected = model(window).numpy()
    session = ort.InferenceSession(str(tmp_path / "h.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"image": window.numpy()})
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_qc_page_lists_every_scan_with_the_volume_table(predicted):
    from brainmri.core.report import Column
    from brainmri.core.testing.browser import MISSING, cell_mismatches, find_chromium, read_batch_page

    if find_chromium() is None:
        pytest.skip(MISSING)
    scans, oriented, out, proc = predicted
    with open(out / "hippocampus_volumes.csv") as fh:
        table = {Path(r["file"]).name: r for r in csv.DictReader(fh)}
    page = out / "report.html"
    assert "QC page" in proc.stderr and "https://" not in page.read_text()
    seen = read_batch_page(page, {"copy_LAS.nii.gz": ("bad", "left missed")}, height=2400)
    assert seen["errors"] == [] and seen["remote"] == [] and seen["pictures_loaded"]
    assert sorted(r["scan"] for r in seen["rows"]) == sorted(table)
    flagged = [r["flagged"] for r in seen["rows"]]
    assert flagged == sorted(flagged, reverse=True)  # flagged first
    assert seen["markers"] == ["flagged" if f else "ok" for f in flagged]  # one marker per row, from the pixels
    columns = [Column("left_mm3", "", digits=0), Column("right_mm3", "", digits=0),
               Column("left_side", "", kind="text"), Column("right_side", "", kind="text")]
    assert cell_mismatches(seen["rows"], table, columns) == []
    exported = list(csv.DictReader(seen["exported"].splitlines()))
    assert [(r["scan"], Path(r["file"]).name, r["rating"], r["comment"]) for r in exported] == [
        ("copy_LAS.nii.gz", "copy_LAS.nii.gz", "bad", "left missed")]


def test_train_writes_the_run_report_with_per_case_scores_and_worst_cases(trained):
    from brainmri.core.testing.browser import MISSING, find_chromium, read_run_page

    if find_chromium() is None:
        pytest.skip(MISSING)
    _, run, _ = trained
    seen = read_run_page(run / "report.html")
    assert seen["errors"] == [] and seen["remote"] == []
    assert "test: per-case Dice and HD95" in seen["sections"]
    assert {"learning_curves", "cases_test", "worst_test_1", "worst_test_2", "worst_test_3"} <= set(seen["pictures"])
    assert all(width > 0 for width in seen["pictures"].values())
    dice = json.loads((run / "metrics.json").read_text())["test"]["dice_left"]
    assert seen["metrics"][("test", "dice_left")][0] == f"{dice['mean']:.3f} (SD {dice['sd']:.3f})"
