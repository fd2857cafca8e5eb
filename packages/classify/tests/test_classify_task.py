"""The ``sex`` task through the registry, and ``predict`` refusing a pickle-bearing checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from brainmri.core.tasks import Task, available_tasks, get_task
from brainmri.core.testing import blob_volume, write_nifti


def test_the_sex_task_is_found_through_its_entry_point():
    assert "sex" in available_tasks()
    task = get_task("sex")
    assert isinstance(task, Task) and task.name == "sex" and task.package == "brainmri-classify"
    assert task.reference_config() == {"threshold": 0.5}


class _Payload:
    """Unpickling this calls ``os.mkdir(marker)``: proof that the file's code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_predict_refuses_a_pickle_bearing_checkpoint_in_one_line(tmp_path):
    marker = tmp_path / "code_ran"
    bomb = tmp_path / "sex_model.pth"
    torch.save({"model": {"weight": torch.zeros(2)}, "extra": _Payload(marker)}, bomb)
    scan = write_nifti(tmp_path / "scan.nii.gz", blob_volume().data, blob_volume().affine)
    result = subprocess.run(
        [sys.executable, "-m", "brainmri.classify", "predict", "--checkpoint", str(bomb), str(scan), "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(bomb) in errors[0] and "refused" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()
