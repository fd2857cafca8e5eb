"""The task registry: entry points, unknown names, and rebuilding a run's model."""

from __future__ import annotations

import pytest
import torch

from brainmri.core.errors import BrainmriError
from brainmri.core.tasks import Task, available_tasks, get_task, load_run


def test_installed_tasks_are_found_through_entry_points():
    names = available_tasks()
    assert {"sex", "age"} <= set(names)
    for name in ("sex", "age"):
        task = get_task(name)
        assert isinstance(task, Task) and task.name == name


def test_unknown_task_gives_one_line_listing_installed():
    with pytest.raises(BrainmriError) as exc:
        get_task("nope")
    assert "nope" in str(exc.value) and "sex" in str(exc.value) and "\n" not in str(exc.value)


def test_load_run_rebuilds_model_from_config(tmp_path):
    from brainmri.core.pipeline import PipelineConfig
    from brainmri.core.training.checkpoints import save_checkpoint
    from brainmri.core.training.rundir import RunDir

    task = get_task("sex")
    model_config = {"arch": "vt1", "out_features": 2, "options": {"head_key": "fc"}}
    torch.manual_seed(0)
    model = task.build_model(model_config)
    run = RunDir(tmp_path / "run")
    run.write_config({"task": "sex", "arch": "vt1", "model": model_config,
                      "pipeline": PipelineConfig.preset("vt1", shape=(16, 16, 16)).to_dict(),
                      "task_config": {"threshold": 0.5}})
    save_checkpoint({"epoch": 1, "model": model.state_dict()}, run.best_checkpoint)
    task2, model2, pipe, config = load_run(run.path, "cpu")
    assert task2.name == "sex" and pipe.shape == (16, 16, 16) and pipe.interpolation == "cubic"
    assert not model2.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, model2.state_dict()[key])
    assert config["calibration"] is None
    assert task2.gradcam_layer(config["arch"]) == "instancenorm4"
    dict(model2.named_modules())["instancenorm4"]  # the Grad-CAM layer exists


def test_load_run_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(BrainmriError, match="not a run folder"):
        load_run(tmp_path, "cpu")
