"""A new user's slips: a checkpoint file where the run folder goes, options that are required."""

from __future__ import annotations

import re
import subprocess
import sys

from brainmri.core.testing import benchmark_recipes, blob_volume, write_nifti


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "brainmri.classify", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_a_checkpoint_given_as_the_run_gets_the_checkpoint_hint(tmp_path):
    ckpt = tmp_path / "sex_full_head.pth"
    ckpt.write_bytes(b"weights")
    vol = blob_volume()
    scan = write_nifti(tmp_path / "head.nii.gz", vol.data, vol.affine)
    proc = _cli("predict", ckpt, scan)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {ckpt}: a file, not a run folder") and f"--checkpoint {ckpt}" in line


def test_train_help_marks_what_is_required():
    text = re.sub(r"\s+", " ", _cli("train", "--help").stdout.split("Options:")[1])
    for option in ("--dataset", "--root", "--out"):
        after = text[text.index(f"{option} ") :]
        assert "[required unless --resume]" in after[:220], option


def test_train_defaults_are_the_recipe_of_the_cross_validated_figures():
    """vt1, batch 2, lr 1e-3, no early stopping, 60 epochs for full heads and 40 for brain-only
    input: what the IXI-HH cross-validation chose and trained (README accuracy table,
    benchmarks/accuracy/recipes.py)."""
    from brainmri.classify.cli import main

    ctx = main.commands["train"].make_context("train", ["--dataset", "ixi", "--root", ".", "--out", "x"])
    chosen = {k: ctx.params[k] for k in ("arch", "batch_size", "lr", "patience")}
    assert chosen == {"arch": "vt1", "batch_size": 2, "lr": 1e-3, "patience": 0}
    assert ctx.params["epochs"] is None  # train fills it for the input
    from brainmri.classify.task import TASK  # the Python train() gets the same recipe

    assert TASK.train_defaults_for(brain_only=False) == {"epochs": 60, "batch_size": 2, "patience": 0}
    assert TASK.train_defaults_for(brain_only=True) == {"epochs": 40, "batch_size": 2, "patience": 0}
    shown = " ".join(_cli("train", "--help").stdout.split())
    assert "[default: 60; brain only (--mask-dir, default preset): 40]" in shown


def test_the_accuracy_benchmark_trains_what_train_trains():
    """benchmarks/accuracy/recipes.py pins the recipe behind the README's sex rows; if it drifted
    from the ``train`` defaults for that input, the table would describe a model no user trains."""
    from brainmri.classify.cli import main
    from brainmri.classify.task import TASK

    ctx = main.commands["train"].make_context("train", ["--dataset", "ixi", "--root", ".", "--out", "x"])
    for name, brain_only in (("sex-full", False), ("sex-brain", True)):
        recipe = benchmark_recipes()[name]
        assert recipe["arch"] == ctx.params["arch"] and not recipe.get("task_options"), name
        defaults = {"lr": ctx.params["lr"], **TASK.train_defaults_for(brain_only)}
        assert recipe["train"] == defaults, name
