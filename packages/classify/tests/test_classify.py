"""brainmri-classify end to end: training beats the majority class, evaluate, predict."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from brainmri.core.testing import real_scan, require_shared, untrained_copy
from brainmri.core.testing.tables import parse_table

pytestmark = pytest.mark.slow  # trains models: minutes on CPU


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "brainmri.classify", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A short CPU training (VT1, 6 mm/32^3) on 48 full-head phantoms."""
    from brainmri.core.synth.table import write_phantom_table

    tmp = tmp_path_factory.mktemp("classify")
    table = write_phantom_table(tmp / "data", n=48, seed=12, spacing=6.0, orientation=None)
    run = tmp / "run"
    result = _cli("train", "--dataset", "table", "--root", str(table), "--out", str(run), "--arch", "vt1",
                  "--spacing", "6", "--shape", "32", "32", "32", "--epochs", "15", "--lr", "3e-3", "--no-augment",
                  "--dropout", "0", "--patience", "0", "--val", "0.2", "--test", "0.3", "--device", "cpu", "--quiet",
                  "--seed", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    return table, run


def test_training_beats_the_majority_class_on_held_out_subjects(trained):
    _, run = trained
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert test["n"] == 14
    assert test["accuracy"]["value"] >= test["majority_accuracy"] + 0.2
    assert test["roc_auc"]["value"] >= 0.8
    lo, hi = test["accuracy"]["ci95"]
    assert lo <= test["accuracy"]["value"] <= hi
    assert sum(map(sum, test["confusion_matrix"])) == 14


def test_train_takes_the_grid_shape_as_x_y_z(trained):
    _, run = trained
    pipeline = json.loads((run / "config.json").read_text())["pipeline"]
    assert pipeline["shape"] == [32, 32, 32] and pipeline["spacing"] == [6.0, 6.0, 6.0]


def test_evaluate_writes_metrics_and_per_subject_predictions(trained):
    _, run = trained
    result = _cli("evaluate", str(run), "--split", "test", "--n-boot", "200", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    split = json.loads((run / "split.json").read_text())
    with open(run / "predictions.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "test"]
    assert sorted(r["subject_id"] for r in rows) == sorted(split["test"])
    # The metrics agree with the per-subject predictions (recomputed here).
    y = np.array([int(r["target"]) for r in rows])
    p = np.array([float(r["prob_female"]) for r in rows])
    metrics = json.loads((run / "metrics.json").read_text())["test"]
    assert metrics["accuracy"]["value"] == pytest.approx(np.mean((p >= 0.5) == y))


def test_evaluate_warns_when_the_model_is_at_chance(trained, tmp_path):
    # The same run with its last layer zeroed gives p(female) 0.5 for every scan: one class for
    # all, balanced accuracy 0.5, and one warning line naming the run and split.
    _, run = trained
    untrained = untrained_copy(run, tmp_path / "untrained")
    result = _cli("evaluate", str(untrained), "--split", "test", "--n-boot", "0", "--device", "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if "no better than" in line]
    assert len(lines) == 1 and lines[0].startswith(f"warning: {untrained}: test split (14 subjects)"), result.stderr
    assert json.loads((untrained / "metrics.json").read_text())["test"]["balanced_accuracy"]["value"] == 0.5
    good_run = shutil.copytree(run, tmp_path / "good")
    good = _cli("evaluate", str(good_run), "--split", "test", "--n-boot", "0", "--device", "cpu")
    assert good.returncode == 0 and "no better than" not in good.stderr, good.stderr
    assert "Not usable: on the test split balanced accuracy 0.50" in (untrained / "MODEL_CARD.md").read_text()
    assert "Not usable" not in (good_run / "MODEL_CARD.md").read_text()


def test_predict_is_independent_of_storage_orientation(trained, tmp_path):
    from brainmri.core import load_volume, save_volume
    from brainmri.core.orientation import reorient

    table, run = trained
    image = table.parent / "images" / "sub-001_T1w.nii.gz"
    lia = save_volume(reorient(load_volume(image), "LIA"), tmp_path / "lia.nii.gz")
    out = tmp_path / "pred.csv"
    result = _cli("predict", str(run), str(image), str(lia), "-o", str(out), "--device", "cpu", "--true", "1",
                  "--true", "1")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(open(out, newline="")))
    assert [r["file"] for r in rows] == [str(image), str(lia)]
    assert float(rows[0]["prob_female"]) == pytest.approx(float(rows[1]["prob_female"]), abs=1e-3)
    assert rows[0]["true_sex"] == "1" and rows[0]["correct"] in ("0", "1")
    for row in rows:  # the 0/1 code stays; its word beside it
        assert row["pred_sex_label"] == {"0": "male", "1": "female"}[row["pred_sex"]]
    assert rows[0]["true_sex_label"] == "female"


def test_predict_reports_a_bad_scan_in_one_line(trained, tmp_path):
    _, run = trained
    bad = tmp_path / "bad.nii.gz"
    bad.write_text("not a scan")
    result = _cli("predict", str(run), str(bad), "--device", "cpu")
    assert result.returncode == 1
    assert "bad.nii.gz" in result.stderr and "Traceback" not in result.stderr


def test_predict_with_a_raw_reference_checkpoint():
    scan = real_scan("chris_t1.nii.gz")
    ckpt = require_shared("vt1-checkpoints", "sex_full_head.pth")
    result = _cli("predict", str(scan), "--checkpoint", str(ckpt), "--arch", "vt1", "--preset", "vt1",
                  "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "{'" not in result.stdout and "," not in result.stdout  # a table for people, not dicts or CSV
    (row,) = parse_table(result.stdout)
    assert float(row["prob_female"]) == pytest.approx(0.940, abs=0.02)  # shared/vt1-checkpoints/README.md
    assert row["pred_sex"] == "female" and len(row["prob_female"]) <= 6  # a word for the class, rounded


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from brainmri.core.testing.corpus import write_bad_input_corpus

    root = tmp_path_factory.mktemp("corpus")
    return root, write_bad_input_corpus(root)


def test_predict_over_the_bad_input_corpus(trained, corpus, tmp_path):
    from brainmri.core.testing.corpus import partial_files, scan_cases, sweep

    _, run = trained
    root, cases = corpus
    given = {**scan_cases(cases), "empty_folder": cases["empty_folder"]}
    cmd = [sys.executable, "-m", "brainmri.classify", "predict", str(run)]
    out = tmp_path / "pred.csv"
    sweep(cmd, given, corpus=root, extra=["-o", out, "--device", "cpu"])
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == [str(c.path) for c in given.values() if c.good]
    assert all(0.0 <= float(r["prob_female"]) <= 1.0 for r in rows)
    fail = tmp_path / "fail.csv"
    sweep(cmd, {"truncated": cases["truncated"], "good": cases["good"]}, corpus=root,
          extra=["-o", fail, "--device", "cpu"], on_error="fail")
    assert not fail.exists() and not partial_files(tmp_path)


def test_train_and_evaluate_write_the_run_report(trained):
    from brainmri.core.testing.browser import MISSING, find_chromium, read_run_page

    if find_chromium() is None:
        pytest.skip(MISSING)
    _, run = trained
    page = run / "report.html"
    assert page.is_file()  # written by train
    page.unlink()
    result = _cli("evaluate", str(run), "--split", "test", "--n-boot", "200", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    seen = read_run_page(page)  # written again by evaluate
    assert seen["errors"] == [] and seen["remote"] == []
    assert "test: ROC and confusion matrix" in seen["sections"] and "Learning curves" in seen["sections"]
    assert all(width > 0 for width in seen["pictures"].values())
    assert {"learning_curves", "roc_test", "confusion_test"} <= set(seen["pictures"])
    test = json.loads((run / "metrics.json").read_text())["test"]
    for name in ("accuracy", "roc_auc"):
        value, interval = seen["metrics"][("test", name)]
        lo, hi = test[name]["ci95"]
        assert value == f"{test[name]['value']:.3f}" and interval == f"{lo:.3f} to {hi:.3f}"
