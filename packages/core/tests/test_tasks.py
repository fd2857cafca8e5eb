"""The task registry: registered tasks, unknown names, and rebuilding a run's model (core alone).

Tasks from installed packages (entry points) are tested in those packages.
"""

from __future__ import annotations

import pytest
import torch

from brainmri.core.errors import BrainmriError
from brainmri.core.tasks import Task, available_tasks, get_task, load_run
from brainmri.core.testing.task import register_test_task

TASK = register_test_task()


def test_a_registered_task_is_found_by_name():
    assert "phantom-sex" in available_tasks()
    assert get_task("phantom-sex") is TASK and isinstance(TASK, Task)


def test_unknown_task_gives_one_line_listing_installed():
    with pytest.raises(BrainmriError) as exc:
        get_task("nope")
    assert "nope" in str(exc.value) and "phantom-sex" in str(exc.value) and "\n" not in str(exc.value)


def test_the_base_task_refuses_reference_checkpoints_in_one_line():
    with pytest.raises(BrainmriError, match="no reference checkpoints"):
        TASK.reference_config()


def test_load_run_rebuilds_model_from_config(tmp_path):
    from brainmri.core.pipeline import PipelineConfig
    from brainmri.core.training.checkpoints import save_checkpoint
    from brainmri.core.training.rundir import RunDir

    task = TASK
    model_config = {"arch": "vt1", "out_features": 2, "options": {}}
    torch.manual_seed(0)
    model = task.build_model(model_config)
    run = RunDir(tmp_path / "run")
    run.write_config({"task": "phantom-sex", "arch": "vt1", "model": model_config,
                      "pipeline": PipelineConfig.preset("vt1", shape=(16, 16, 16)).to_dict(),
                      "task_config": {"threshold": 0.5}})
    save_checkpoint({"epoch": 1, "model": model.state_dict()}, run.best_checkpoint)
    task2, model2, pipe, config = load_run(run.path, "cpu")
    assert task2 is TASK and pipe.shape == (16, 16, 16) and pipe.interpolation == "cubic"
    assert not model2.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, model2.state_dict()[key])
    assert config["calibration"] is None
    assert task2.gradcam_layer(config["arch"]) == "instancenorm4"
    dict(model2.named_modules())["instancenorm4"]  # the Grad-CAM layer exists


def test_load_run_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(BrainmriError, match="not a run folder"):
        load_run(tmp_path, "cpu")
