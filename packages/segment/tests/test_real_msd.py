"""Hippocampus segmentation trained on real Decathlon crops, and the label lookup on real heads.

Short CPU trainings through the CLI; ``nox -s accuracy`` gives the full figures.
"""

from __future__ import annotations

import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from brainmri.core.testing import require_shared
from brainmri.core.testing.realdata import held_out_split, ixi_hh

pytestmark = pytest.mark.slow  # trains on real scans


def _cli(*args, timeout=1800):
    return subprocess.run([sys.executable, "-m", "brainmri.segment", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_msd_training_beats_the_whole_crop_baseline_and_keeps_anterior_posterior(tmp_path):
    from brainmri.core.datasets import read_msd

    root = require_shared("data", "Task04_Hippocampus")
    subjects = read_msd(root).subjects
    split = held_out_split(subjects, tmp_path / "split.json", fold=0, k=10, train_limit=30)
    run = tmp_path / "run"
    result = _cli("train", "--dataset", "msd", "--root", str(root), "--split-file", str(split), "--out", str(run),
                  "--epochs", "8", "--lr", "2e-3", "--device", "cpu", "--quiet", "--seed", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((run / "config.json").read_text())
    assert config["task_config"]["classes"] == {"1": "anterior", "2": "posterior"}
    assert config["pipeline"]["augment"]["lr_label_pairs"] == []  # a flip never swaps anterior/posterior
    assert config["pipeline"]["augment"]["flip_lr_prob"] > 0
    patch = config["task_config"]["patch_size"]
    assert all(p >= s for p, s in zip(patch, (35, 51, 35)))  # planned: a median crop is seen whole
    # The rest of the crop schedule is planned (2 crops a step, 2 patches each, no early stopping);
    # --epochs and --lr are kept and named as given.
    assert (config["train"]["batch_size"], config["task_config"]["patches_per_scan"]) == (2, 2)
    assert (config["train"]["epochs"], config["train"]["lr"], config["train"]["patience"]) == (8, 2e-3, 0)
    assert "(--epochs, --lr given)" in config["plan"]["reasons"][-1]
    # ... and trained whole: the network's output covers it (an unpadded one saw its 4x16x4 centre)
    from brainmri.segment.task import TASK

    net = TASK.build_model(config["model"])
    assert all(net.output_size(p) >= s for p, s in zip(patch, (35, 51, 35)))
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert test["n"] == 20
    # Baseline: calling the whole crop one class gives Dice 2|class| / (|class| + |crop|).
    held = [s for s in subjects if s.subject_id in json.loads(split.read_text())["test"]]
    for value, name in ((1, "anterior"), (2, "posterior")):
        base = []
        for s in held:
            lab = np.asarray(nib.load(str(s.label)).dataobj)
            base.append(2 * np.sum(lab == value) / (np.sum(lab == value) + lab.size))
        assert test[f"dice_{name}"]["mean"] > max(0.3, 3 * np.mean(base))

    # predict: labels on each crop's own grid; 1 (anterior, the head) lies anterior of 2 in world y.
    out = tmp_path / "pred"
    result = _cli("predict", str(run), *(str(s.image) for s in held[:3]), "-o", str(out), "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    header = (out / "hippocampus_volumes.csv").read_text().splitlines()[0].split(",")
    assert "anterior_mm3" in header and not any(c.endswith("_side") for c in header)  # a crop has no head sides
    for s in held[:3]:
        pred = nib.load(str(out / s.image.name.replace(".nii.gz", "_hippocampus.nii.gz")))
        ref = nib.load(str(s.image))
        assert pred.shape == ref.shape and np.allclose(pred.affine, ref.affine)
        labels = np.asarray(pred.dataobj)
        y = [float((pred.affine @ [*np.argwhere(labels == v).mean(0), 1])[1]) for v in (1, 2)]
        assert y[0] > y[1] + 5


def test_training_from_dlmuse_labels_on_full_heads_through_a_lookup(tmp_path):
    root, sheet, subjects = ixi_hh()
    split = held_out_split(subjects, tmp_path / "split.json", fold=0, k=20, train_limit=6)
    run = tmp_path / "run"
    result = _cli("train", "--dataset", "ixi", "--root", str(root), "--metadata", str(sheet),
                  "--label-dir", str(root / "labels"), "--labels", "dlmuse", "--split-file", str(split),
                  "--out", str(run), "--patch-size", "32", "--epochs", "1", "--no-evaluate", "--device", "cpu",
                  "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((run / "config.json").read_text())
    assert config["task_config"]["classes"] == {"1": "left", "2": "right"}
    assert config["pipeline"]["augment"]["lr_label_pairs"] == [[1, 2]]  # a flip swaps left and right
    assert config["data"]["label_lookup"] == "48=left,47=right"
    assert config["pipeline"]["spacing"] == [2.0, 2.0, 2.0]  # planned: the data's own voxel size
    # --patch-size 32 is not a whole head: the head schedule (4 heads a step, 4 patches each)
    assert (config["train"]["batch_size"], config["task_config"]["patches_per_scan"]) == (4, 4)
    # A lookup with the sides swapped is refused in one line naming the label file.
    bad = _cli("train", "--dataset", "ixi", "--root", str(root), "--metadata", str(sheet),
               "--label-dir", str(root / "labels"), "--labels", "47=left,48=right", "--split-file", str(split),
               "--out", str(tmp_path / "bad"), "--patch-size", "32", "--epochs", "1", "--device", "cpu", "--quiet")
    assert bad.returncode != 0
    assert "_dlmuse.nii.gz" in bad.stderr and "sides swapped" in bad.stderr and "Traceback" not in bad.stderr


def test_volume_table_sides_come_from_world_coordinates_on_a_real_head_in_any_storage(tmp_path):
    """DLMUSE's hippocampi of a real head (48 left, 47 right), stored PSR and re-stored LIA:
    the side printed for each label is the anatomical one in both storages."""
    from brainmri.core.datasets.lookup import LabelLookup
    from brainmri.core.io import load_volume
    from brainmri.core.orientation import reorient
    from brainmri.segment.predict import label_sides, side_mismatches

    root = require_shared("data", "ixi-hh")
    scan = load_volume(root / "IXI013-HH-1212-T1.nii.gz")
    labels = LabelLookup.parse("dlmuse").apply(load_volume(root / "labels" / "IXI013-HH-1212-T1_dlmuse.nii.gz",
                                                            check_values=False))
    classes = {1: "left", 2: "right"}
    for code in ("PSR", "LIA", "RAS"):
        s, lab = reorient(scan, code), reorient(labels, code)
        sides = label_sides(lab, s, classes)
        assert (sides["left_side"], sides["right_side"]) == ("left", "right"), code
        assert sides["left_x_mm"] < sides["midline_x_mm"] < sides["right_x_mm"]
        assert side_mismatches(sides, classes) == []
        swapped = label_sides(lab, s, {1: "right", 2: "left"})  # a model that calls them the other way
        assert len(side_mismatches(swapped, {1: "right", 2: "left"})) == 2
