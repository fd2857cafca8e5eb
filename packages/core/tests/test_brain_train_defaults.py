"""A task's training values for brain-only input (``Task.brain_train_defaults``): ``train`` fills
what the caller leaves unset with them when the input is brain only, and with the task's own
values for full heads; a value the caller gives wins. The run's config.json and plan say which."""

from __future__ import annotations

import csv
import json

import pytest

from brainmri.core.synth.table import write_phantom_table
from brainmri.core.testing.task import PhantomSexTask
from brainmri.core.training import TrainConfig, train


class _LongerOnBrainTask(PhantomSexTask):
    """Full heads train 1 epoch by default, brain-only input 2."""

    train_defaults = {"epochs": 1, "batch_size": 3, "patience": 0}
    brain_train_defaults = {"epochs": 2}
    brain_train_reason = "brain only: 2 epochs (test)"


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_phantom_table(tmp_path_factory.mktemp("data"), n=6, seed=4, spacing=6.0)


def _run(table, out, brain_only, train_config, preset="default"):
    run = train(
        _LongerOnBrainTask(),
        out,
        dataset="table",
        root=table,
        mask_dir=table.parent / "masks" if brain_only else None,
        arch="vt1",
        preset=preset,
        spacing=8.0,
        shape=16 if preset == "vt1" else None,  # the default preset: the plan's shape
        train_config=train_config,
        model_options={"dropout": 0.0},
        val=0.34,
        test=0.0,
        device="cpu",
        progress=False,
        evaluate_after=False,
    )
    config = json.loads(run.config_path.read_text())
    with open(run.path / "log.csv", newline="") as f:
        epochs = [int(r["epoch"]) for r in csv.DictReader(f)]
    return config, epochs


@pytest.mark.parametrize(
    "given",
    [None, TrainConfig(epochs=None, batch_size=3, augment=False, patience=0)],
    ids=["python-default", "cli-unset"],
)
def test_unset_epochs_follow_the_input(table, tmp_path, given):
    brain, brain_epochs = _run(table, tmp_path / "brain", True, given)
    assert brain["train"]["epochs"] == 2 and brain_epochs == [1, 2]
    assert "brain only: 2 epochs (test)" in brain["plan"]["reasons"]
    head, head_epochs = _run(table, tmp_path / "head", False, given)
    assert head["train"]["epochs"] == 1 and head_epochs == [1]
    assert "brain only: 2 epochs (test)" not in head["plan"]["reasons"]


def test_given_epochs_win_and_a_preset_keeps_the_tasks_own(table, tmp_path):
    given, epochs = _run(table, tmp_path / "given", True, TrainConfig(epochs=1, batch_size=3, patience=0))
    assert given["train"]["epochs"] == 1 and epochs == [1]
    assert "brain only: 2 epochs (test)" not in given["plan"]["reasons"]
    # the vt1 preset is the reference project's recipe: brain-only values were chosen on the default one
    vt1, epochs = _run(table, tmp_path / "vt1", True, TrainConfig(epochs=None, batch_size=3, patience=0), "vt1")
    assert vt1["train"]["epochs"] == 1 and epochs == [1]
