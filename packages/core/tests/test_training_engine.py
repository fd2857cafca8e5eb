"""The training engine: run folder, checkpoints, early stopping, accumulation, kill and resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from brainmri.core.synth.table import write_phantom_table
from brainmri.core.testing.task import register_test_task
from brainmri.core.training import TrainConfig, train

GRID = {"spacing": 6.0, "shape": 32}
TASK = register_test_task()


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """16 small phantoms (6 mm voxels, random orientations) as a table dataset."""
    return write_phantom_table(tmp_path_factory.mktemp("data"), n=16, seed=3, spacing=6.0, orientation=None)


def _log(run) -> list[dict]:
    with open(run / "log.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _weights(path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state["model"]


def _train(table, out, **config):
    options = {"epochs": 2, "batch_size": 4, "lr": 1e-3, "augment": False, "patience": 0, **config}
    return train(TASK, out, dataset="table", root=table, arch="vt1", train_config=TrainConfig(**options),
                 model_options={"dropout": 0.0}, device="cpu", progress=False, evaluate_after=False, **GRID)


def test_run_folder_layout_and_checkpoints(table, tmp_path):
    run = _train(table, tmp_path / "run")
    config = json.loads((run.path / "config.json").read_text())
    assert config["task"] == "phantom-sex" and config["arch"] == "vt1"
    assert config["pipeline"]["shape"] == [32, 32, 32] and config["train"]["epochs"] == 2
    split = json.loads((run.path / "split.json").read_text())
    assert not set(split["train"]) & set(split["val"]) and len(split["train"]) + len(split["val"]) + len(
        split["test"]) == 16
    rows = _log(run.path)
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(float(r["train_loss"]) > 0 and float(r["val_loss"]) > 0 for r in rows)
    last = torch.load(run.last_checkpoint, map_location="cpu", weights_only=True)
    assert last["epoch"] == 2 and last["finished"] is True
    best = torch.load(run.best_checkpoint, map_location="cpu", weights_only=True)
    best_row = min(rows, key=lambda r: float(r["val_loss"]))
    assert best["epoch"] == int(best_row["epoch"]) and best["metric"] == pytest.approx(float(best_row["val_loss"]),
                                                                                      rel=1e-5)
    assert not list(run.path.rglob("*.part*"))  # atomic writes leave no temporary files
    # A second train into the same folder is refused (resume instead).
    from brainmri.core.errors import BrainmriError

    with pytest.raises(BrainmriError, match="already holds a run"):
        _train(table, run.path)


def test_early_stopping_stops_when_the_monitor_stalls(table, tmp_path):
    # lr 0: the validation loss never improves after epoch 1, so patience 2 stops at epoch 3.
    run = _train(table, tmp_path / "run", epochs=10, lr=0.0, patience=2, scheduler="none")
    assert [int(r["epoch"]) for r in _log(run.path)] == [1, 2, 3]
    last = torch.load(run.last_checkpoint, map_location="cpu", weights_only=True)
    assert last["finished"] and last["epoch"] == 3 and last["best_epoch"] == 1


def test_val_every_validates_every_nth_and_the_last_epoch_and_picks_the_best_among_them(table, tmp_path):
    run = _train(table, tmp_path / "run", epochs=5, val_every=2)
    rows = _log(run.path)
    assert [r["val_loss"] != "" for r in rows] == [False, True, False, True, True]
    validated = [r for r in rows if r["val_loss"]]
    best = torch.load(run.best_checkpoint, map_location="cpu", weights_only=True)
    assert best["epoch"] == int(min(validated, key=lambda r: float(r["val_loss"]))["epoch"])
    # Early stopping is judged where it validates, with patience in epochs: lr 0 never improves
    # after the first validation (epoch 2), so patience 2 stops at the next one (epoch 4).
    run = _train(table, tmp_path / "stop", epochs=10, lr=0.0, patience=2, scheduler="none", val_every=2)
    assert [int(r["epoch"]) for r in _log(run.path)] == [1, 2, 3, 4]
    last = torch.load(run.last_checkpoint, map_location="cpu", weights_only=True)
    assert last["finished"] and last["best_epoch"] == 2


def test_train_without_a_config_uses_the_tasks_own_defaults(table, tmp_path, monkeypatch):
    monkeypatch.setattr(TASK, "train_defaults", {"epochs": 1, "batch_size": 3, "patience": 0})
    run = train(TASK, tmp_path / "run", dataset="table", root=table, arch="vt1", device="cpu", progress=False,
                evaluate_after=False, **GRID)
    config = json.loads((run.path / "config.json").read_text())["train"]
    assert (config["epochs"], config["batch_size"], config["patience"], config["lr"]) == (1, 3, 0, 1e-3)
    assert [int(r["epoch"]) for r in _log(run.path)] == [1]


def test_gradient_accumulation_matches_the_larger_batch(table, tmp_path):
    # No dropout, no augmentation, per-sample normalisation: 2 x 2 accumulated == one batch of 4,
    # up to float sums in another order. How close "up to" is depends on the CPU: on an AVX2-only
    # machine Adam turned that rounding into 3e-4 on a third of conv1's weights (earlier machines: < 1e-5).
    # So the yardstick is the run that ignores accumulation (batch 2, twice the steps): the
    # accumulated run must sit 20 times closer to the batch of 4 than that one does, tensor by
    # tensor (seen: 170 times closer or more), and so must its validation loss.
    four = _train(table, tmp_path / "four", batch_size=4, epochs=1)
    accumulated = _train(table, tmp_path / "accumulated", batch_size=2, accumulate=2, epochs=1)
    two = _train(table, tmp_path / "two", batch_size=2, epochs=1)
    wf, wa, w2 = (_weights(r.last_checkpoint) for r in (four, accumulated, two))
    assert wf.keys() == wa.keys() == w2.keys()
    for key in filter(_learnt, wf):
        assert (wf[key] - wa[key]).norm() <= 0.05 * (wf[key] - w2[key]).norm(), key
    vf, va, v2 = (float(_log(r.path)[0]["val_loss"]) for r in (four, accumulated, two))
    assert abs(vf - va) <= 0.05 * abs(vf - v2), (vf, va, v2)


def _learnt(key: str) -> bool:
    """Not a conv bias: an instance norm cancels those, so their gradients are pure rounding noise,
    which Adam turns into full-size steps."""
    return not (key.startswith("conv") and key.endswith("bias"))


def assert_same_weights(wa: dict, wb: dict, atol: float = 1e-5) -> None:
    """Equal up to float rounding. Adam turns gradients that are pure rounding noise (the conv biases
    an instance norm cancels, the odd weight whose gradient is ~0) into full-size steps, so those
    biases are skipped and 0.1% of the other elements may differ."""
    assert wa.keys() == wb.keys()
    for key in filter(_learnt, wa):
        close = torch.isclose(wa[key], wb[key], atol=atol, rtol=0)
        assert close.float().mean() >= 0.999, (key, (wa[key] - wb[key]).abs().max())


#: A training process of the test task: ``python -c TRAIN OUT TABLE`` or ``python -c TRAIN OUT --resume``.
TRAIN = """
import sys
from brainmri.core.testing.task import register_test_task
from brainmri.core.training import TrainConfig, train

task = register_test_task()
out, table = sys.argv[1:3]
if table == "--resume":
    train(task, out, resume=True, device="cpu", progress=False)
else:
    config = TrainConfig(epochs=4, batch_size=4, seed=5, patience=0)
    train(task, out, dataset="table", root=table, arch="vt1", spacing=6.0, shape=32, train_config=config,
          device="cpu", progress=False)
"""


def _train_process(out, table):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", TRAIN, str(out), str(table)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_result(table, tmp_path):
    """SIGKILL after the first epoch's checkpoint, --resume, finish: same log and weights as no kill."""
    run = tmp_path / "killed"
    proc = _train_process(run, table)
    deadline = time.time() + 120
    while not (run / "checkpoints" / "last.pt").exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["epoch"]
    assert 1 <= killed_at < 4

    resumed = _train_process(run, "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    rows = _log(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    last = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert last["epoch"] == 4 and last["finished"]
    best = torch.load(run / "checkpoints" / "best.pt", map_location="cpu", weights_only=True)
    assert best["epoch"] == int(min(rows, key=lambda r: float(r["val_loss"]))["epoch"])
    assert (run / "metrics.json").is_file() and (run / "predictions.csv").is_file()
    assert not list(run.rglob("*.part*"))

    straight = _train_process(tmp_path / "straight", table)
    out, err = straight.communicate(timeout=300)
    assert straight.returncode == 0, err
    for a, b in zip(rows, _log(tmp_path / "straight")):
        assert float(a["val_loss"]) == pytest.approx(float(b["val_loss"]), rel=1e-4)
    assert_same_weights(last["model"], _weights(tmp_path / "straight" / "checkpoints" / "last.pt"))
