"""DistributedDataParallel with core alone: ``torchrun --nproc_per_node=2`` (gloo, CPU) trains the
test-only task (``python -m brainmri.core.testing.task``, built with the shared
``add_task_commands``) exactly like one process with the same global batch."""

from __future__ import annotations

import json

import pytest

from brainmri.core.testing import phantoms_train_alike_under_torchrun, read_log

pytestmark = pytest.mark.slow


def test_torchrun_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    # Three epochs validated every 2nd: epoch 1 is not validated, 2 is, 3 is the last. Every rank
    # must skip the same epochs (validation is collective) and the best checkpoint must come
    # from a validated one.
    ddp, single = phantoms_train_alike_under_torchrun(
        "brainmri.core.testing.task", tmp_path, shape=("32", "32", "32"), extra=("--epochs", "3", "--val-every", "2")
    )
    assert json.loads((ddp / "config.json").read_text())["task"] == "phantom-sex"
    for run in (ddp, single):
        log = read_log(run)
        assert [r["val_loss"] != "" for r in log] == [False, True, True]
        assert log[0]["best"] == "0"
