"""brainmri-regress end to end: training beats the mean age, bias correction, predict."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from brainmri.core.testing import benchmark_recipes, real_scan, require_shared, untrained_copy
from brainmri.core.testing.tables import parse_table

pytestmark = pytest.mark.slow  # trains models: minutes on CPU


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "brainmri.regress", *args], capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    from brainmri.core.synth.table import write_phantom_table

    return write_phantom_table(tmp_path_factory.mktemp("regress"), n=40, seed=1, spacing=6.0, orientation=None)


@pytest.fixture(scope="module")
def trained(table, tmp_path_factory):
    """A short CPU training (VT1, MSE, brain only, 6 mm/32^3) on 40 phantoms."""
    run = tmp_path_factory.mktemp("runs") / "age"
    result = _cli("train", "--dataset", "table", "--root", str(table), "--mask-dir", str(table.parent / "masks"),
                  "--out", str(run), "--arch", "vt1", "--loss", "mse", "--spacing", "6", "--shape", "32",
                  *TRAIN_ARGS, "--no-augment", "--patience", "0", "--val", "0.2", "--test", "0.3",
                  "--device", "cpu", "--quiet", "--seed", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    return run


TRAIN_ARGS = ["--epochs", "15", "--lr", "3e-3", "--batch-size", "2", "--dropout", "0", "--bias-correction"]


def test_training_beats_the_mean_age_on_held_out_subjects(trained):
    metrics = json.loads((trained / "metrics.json").read_text())["test"]
    raw = metrics.get("before_bias_correction", metrics)
    # Before the bias correction: with 8 validation subjects its fitted slope is too noisy to judge
    # the network by (the corrected figures are reported beside these).
    assert raw["mae"]["value"] < 0.8 * metrics["mean_age_predictor_mae"]
    assert raw["pearson_r"]["value"] > 0.5


def test_bias_correction_is_fitted_on_val_and_applied_by_predict(trained, table, tmp_path):
    calibration = json.loads((trained / "calibration.json").read_text())["age_bias"]
    split = json.loads((trained / "split.json").read_text())
    assert calibration["n"] == len(split["val"])
    with open(trained / "predictions.csv", newline="") as fh:
        val = [r for r in csv.DictReader(fh) if r["split"] == "val"]
    age = np.array([float(r["target"]) for r in val])
    raw = np.array([float(r["pred_age_uncorrected"]) for r in val])
    if "note" not in calibration:
        slope, intercept = np.polyfit(age, raw, 1)  # the same fit, recomputed here
        assert calibration["slope"] == pytest.approx(slope, rel=1e-4)
        assert calibration["intercept"] == pytest.approx(intercept, rel=1e-4, abs=1e-3)

    image = table.parent / "images" / "sub-003_T1w.nii.gz"
    out = tmp_path / "pred.csv"
    result = _cli("predict", str(trained), str(image), "--mask-dir", str(table.parent / "masks"), "--true", "50",
                  "-o", str(out), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    row = next(csv.DictReader(open(out, newline="")))
    expected = (float(row["pred_age_uncorrected"]) - calibration["intercept"]) / calibration["slope"]
    assert float(row["pred_age"]) == pytest.approx(expected, rel=1e-4)
    assert float(row["brain_age_gap"]) == pytest.approx(float(row["pred_age"]) - 50.0, abs=1e-3)


def test_brain_only_age_trains_on_a_grid_centred_on_each_brain(trained):
    """The age task's cross-validated choice (``AgeTask.brain_grid``): brain-only input is centred on
    each brain mask's bounding box, not on the scan (full heads keep the scan's centre)."""
    config = json.loads((trained / "config.json").read_text())
    assert config["pipeline"]["centre"] == "mask_box" and config["pipeline"]["apply_mask"]


def test_brain_only_run_refuses_a_scan_without_a_mask(trained, table):
    image = table.parent / "images" / "sub-003_T1w.nii.gz"
    result = _cli("predict", str(trained), str(image), "--device", "cpu")
    assert result.returncode == 1 and "--mask-dir" in result.stderr and "Traceback" not in result.stderr


def test_evaluate_warns_when_the_model_is_no_better_than_the_mean_age(trained, tmp_path):
    # The trained run beats the mean age: no warning. The same run with its last layer zeroed
    # predicts the training mean age for every scan: one warning line naming the run and split.
    for run, warns in ((shutil.copytree(trained, tmp_path / "good"), False),
                       (untrained_copy(trained, tmp_path / "untrained"), True)):
        result = _cli("evaluate", str(run), "--split", "test", "--n-boot", "0", "--refit-calibration",
                      "--device", "cpu")
        assert result.returncode == 0, result.stderr[-3000:]
        lines = [line for line in result.stderr.splitlines() if "no better than" in line]
        assert len(lines) == int(warns), result.stderr
        if warns:
            assert lines[0].startswith(f"warning: {run}: test split") and "mean age" in lines[0]
            metrics = json.loads((run / "metrics.json").read_text())["test"]
            assert metrics["mae"]["value"] == pytest.approx(metrics["mean_age_predictor_mae"], abs=1e-3)
        card = (run / "MODEL_CARD.md").read_text()  # the run folder says so to whoever opens it later
        assert ("Not usable: on the test split MAE" in card) is warns


def test_the_trivial_verdict_needs_ten_subjects_and_allows_float32_rounding():
    from brainmri.core.tasks import trivial_verdict
    from brainmri.regress.task import TASK

    def metrics(n, error):
        return {"n": n, "mae": {"value": error}, "mean_age_predictor_mae": 15.0}

    assert trivial_verdict(TASK, metrics(9, 19.0)) is None  # the demo's 2-subject splits: chance decides
    assert "no better than" in trivial_verdict(TASK, metrics(10, 19.0))
    assert "no better than" in trivial_verdict(TASK, metrics(10, 14.999))  # the mean age in float32
    assert trivial_verdict(TASK, metrics(10, 14.0)) is None


def test_sfcn_soft_label_run_records_its_bins(table, tmp_path):
    run = tmp_path / "sfcn"
    result = _cli("train", "--dataset", "table", "--root", str(table), "--out", str(run), "--arch", "sfcn",
                  "--loss", "soft", "--spacing", "8", "--shape", "32", "--epochs", "1", "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((run / "config.json").read_text())
    ages = [float(r["age"]) for r in csv.DictReader(open(table, newline=""))]
    bins = config["task_config"]["bins"]
    assert config["model"]["out_features"] == len(bins)
    assert bins[0] < min(ages) and bins[-1] > max(ages) and np.allclose(np.diff(bins), 1.0)
    rows = [r for r in csv.DictReader(open(run / "predictions.csv", newline=""))]
    assert all(bins[0] <= float(r["pred_age_uncorrected"]) <= bins[-1] for r in rows)


def test_predict_with_a_raw_reference_checkpoint():
    scan = real_scan("chris_t1.nii.gz")
    ckpt = require_shared("vt1-checkpoints", "age_full_head.pth")
    result = _cli("predict", "--checkpoint", str(ckpt), "--arch", "vt1", "--preset", "vt1", str(scan),
                  "--true", "40", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "{'" not in result.stdout and "," not in result.stdout  # a table for people
    (row,) = parse_table(result.stdout)
    assert float(row["pred_age"]) == pytest.approx(32.5, abs=1.0)  # shared/vt1-checkpoints/README.md
    assert float(row["brain_age_gap"]) == pytest.approx(float(row["pred_age"]) - 40, abs=2e-3)  # rounded


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from brainmri.core.testing.corpus import write_bad_input_corpus

    root = tmp_path_factory.mktemp("corpus")
    return root, write_bad_input_corpus(root)


def test_predict_over_the_bad_input_corpus(trained, corpus, tmp_path):
    """The brain-only run, given a mask folder: bad scans and a mask on another grid, one line each."""
    from brainmri.core.testing.corpus import partial_files, sweep, with_mask_folder

    root, cases = corpus
    masks = tmp_path / "masks"
    given = {**with_mask_folder(cases, masks), "empty_folder": cases["empty_folder"]}
    cmd = [sys.executable, "-m", "brainmri.regress", "predict", str(trained)]
    out = tmp_path / "pred.csv"
    proc = sweep(cmd, given, corpus=root, extra=["-o", out, "--mask-dir", masks, "--device", "cpu"])
    mask = given["mask_on_another_grid"]
    assert f"\n  skipped {mask.about}: mask grid" in proc.stderr  # the summary names the scan
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == [str(c.path) for c in given.values() if c.good]
    assert all(np.isfinite(float(r["pred_age"])) for r in rows)
    fail = tmp_path / "fail.csv"
    sweep(cmd, {"mask": mask, "good": cases["good"]}, corpus=root,
          extra=["-o", fail, "--mask-dir", masks, "--device", "cpu"], on_error="fail")
    assert not fail.exists() and not partial_files(tmp_path)


def test_brain_only_run_takes_an_already_stripped_scan_without_a_mask(trained, tmp_path):
    """A scan skull-stripped elsewhere (real chris_t1 x its HD-BET mask) needs no mask: the run
    says it detected stripped input and predicts what it predicts for the full head with the mask."""
    import nibabel as nib

    scan = real_scan("chris_t1.nii.gz")
    mask_file = require_shared("data", "real", "reference", "chris_t1_hdbet_fast_mask.nii.gz")
    img = nib.load(str(scan))
    mask = np.asarray(nib.load(str(mask_file)).dataobj) > 0
    stripped = tmp_path / "stripped" / "chris_t1.nii.gz"
    stripped.parent.mkdir()
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj) * mask, img.affine, img.header), str(stripped))
    masks = tmp_path / "masks"
    masks.mkdir()
    nib.save(nib.Nifti1Image(mask.astype(np.uint8), img.affine), str(masks / "chris_t1_mask.nii.gz"))

    detected = _cli("predict", str(trained), str(stripped), "-o", str(tmp_path / "a.csv"), "--device", "cpu")
    assert detected.returncode == 0, detected.stderr
    assert "already skull-stripped (detected)" in detected.stderr
    row = next(csv.DictReader(open(tmp_path / "a.csv", newline="")))
    assert row["brain_input"] == "already skull-stripped (detected)"
    masked = _cli("predict", str(trained), str(scan), "--mask-dir", str(masks), "-o", str(tmp_path / "b.csv"),
                  "--device", "cpu")
    assert masked.returncode == 0, masked.stderr
    ref = next(csv.DictReader(open(tmp_path / "b.csv", newline="")))
    assert ref["brain_input"] == "mask"
    assert float(row["pred_age"]) == pytest.approx(float(ref["pred_age"]), abs=0.5)


def test_norm_option_builds_a_batchnorm_vt1_that_predict_reloads(table, tmp_path):
    import torch

    run = tmp_path / "bn"
    result = _cli("train", "--dataset", "table", "--root", str(table), "--out", str(run), "--arch", "vt1",
                  "--norm", "batch", "--spacing", "8", "--shape", "32", "--epochs", "1", "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run / "config.json").read_text())["model"]["options"]["norm"] == "batch"
    state = torch.load(run / "checkpoints" / "best.pt", map_location="cpu", weights_only=True)["model"]
    assert "batchnorm1.running_mean" in state and not any(k.startswith("instancenorm") for k in state)
    scan = real_scan("t1_lia.nii.gz")
    out = tmp_path / "pred.csv"
    result = _cli("predict", str(run), str(scan), "-o", str(out), "--device", "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    assert np.isfinite(float(next(csv.DictReader(open(out, newline="")))["pred_age"]))
    refused = _cli("train", "--dataset", "table", "--root", str(table), "--out", str(tmp_path / "x"), "--arch", "sfcn",
                   "--norm", "batch", "--epochs", "1", "--device", "cpu", "--quiet")
    assert refused.returncode == 1 and refused.stderr.strip() == "error: --norm applies to --arch vt1 only, not sfcn"
    assert not (tmp_path / "x").exists()


def test_train_writes_the_run_report_with_the_age_figures(trained):
    from brainmri.core.testing.browser import MISSING, find_chromium, read_run_page

    if find_chromium() is None:
        pytest.skip(MISSING)
    seen = read_run_page(trained / "report.html")
    assert seen["errors"] == [] and seen["remote"] == []
    assert "test: predicted vs true age, brain-age gap" in seen["sections"]
    assert {"learning_curves", "age_test", "gap_test"} <= set(seen["pictures"])
    assert all(width > 0 for width in seen["pictures"].values())
    test = json.loads((trained / "metrics.json").read_text())["test"]
    value, interval = seen["metrics"][("test", "mae")]
    lo, hi = test["mae"]["ci95"]
    assert value == f"{test['mae']['value']:.3f}" and interval == f"{lo:.3f} to {hi:.3f}"


def test_train_defaults_are_the_recipe_chosen_on_real_data():
    """batch 2, 45 epochs, MSE, no early stopping: what the IXI-HH cross-validation trained
    (README, benchmarks/accuracy/recipes.py)."""
    from click.testing import CliRunner

    from brainmri.regress.cli import main

    ctx = main.commands["train"].make_context("train", ["--dataset", "ixi", "--root", ".", "--out", "x"])
    assert (ctx.params["epochs"], ctx.params["batch_size"], ctx.params["loss"], ctx.params["arch"]) == (
        45, 2, "mse", "vt1")
    assert ctx.params["patience"] == 0
    from brainmri.regress.task import TASK  # the Python train() gets the same recipe

    assert all(ctx.params[k] == v for k, v in TASK.train_defaults.items()) and TASK.train_defaults["epochs"] == 45
    shown = CliRunner().invoke(main, ["train", "--help"]).output
    assert "--batch-size INTEGER" in shown and "[default: 2]" in shown and "[default: 45]" in shown
    for name in ("age-full", "age-brain"):  # the README's age rows trained this recipe (the benchmark's)
        recipe = benchmark_recipes()[name]
        assert (recipe["arch"], recipe["task_options"]) == (ctx.params["arch"], {"loss": ctx.params["loss"]}), name
        assert recipe["train"] == {k: ctx.params[k] for k in ("epochs", "batch_size", "lr", "patience")}, name
