"""The sex task's augmentation keeps each head and brain its size: size is a sex cue."""

from __future__ import annotations

import numpy as np

from brainmri.classify.task import TASK
from brainmri.core.pipeline import PRESETS, Pipeline, Sample
from brainmri.core.tasks import Task
from brainmri.core.training.workflow import task_pipeline


def _brain() -> Sample:
    """An ellipsoid brain mask, 140 x 170 x 120 mm, in a 2 mm scan."""
    grid = np.stack(np.meshgrid(*(np.arange(n) - (n - 1) / 2 for n in (96, 110, 90)), indexing="ij")) * 2.0
    inside = ((grid / np.array([70.0, 85.0, 60.0])[:, None, None, None]) ** 2).sum(0) <= 1
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -2.0 * (np.array([96, 110, 90]) - 1) / 2
    return Sample(inside.astype(np.float32), affine, mask=inside.astype(np.uint8))


def _relative_volumes(task) -> list[float]:
    """Brain volume on the training grid of 12 augmented draws, over the unaugmented one."""
    config, _ = task_pipeline(task, "default", spacing=(4.0,) * 3, shape=(48,) * 3)
    pipe, brain = Pipeline(config), _brain()
    base = float(pipe([brain]).mask.sum())
    return [float(pipe([brain], augment=True, rng=seed).mask.sum()) / base for seed in range(12)]


def test_sex_training_rotates_and_shifts_but_keeps_each_brain_its_size():
    sex = _relative_volumes(TASK)
    assert max(abs(v - 1.0) for v in sex) < 0.01, sex
    other = _relative_volumes(Task())  # a task with the default preset's +-5% scaling
    assert max(other) - min(other) > 0.05, other
    config, reasons = task_pipeline(TASK, "default")
    assert config.augment.rotation_deg > 0 and config.augment.translation_mm > 0  # the rest stays
    assert "size" in reasons[0]
    vt1, reasons = task_pipeline(TASK, "vt1")  # a preset keeps its own augmentation
    assert vt1.augment == PRESETS["vt1"].augment and not reasons
