"""A tiny test-only task, so core's engine is tested with brainmri-core alone installed.

``phantom-sex`` tells the two sexes of the synthetic phantoms apart
(:func:`brainmri.core.synth.table.write_phantom_table`; 0 male, 1 female). It has two logits,
cross-entropy, p(female) as its prediction and core's classification metrics. No
package provides it through an entry point. :func:`register_test_task` registers it in the
test process (:func:`brainmri.core.tasks.register_task`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..tasks import Task, register_task


class PhantomSexTask(Task):
    """Binary classification of phantoms (0 male, 1 female): two logits, cross-entropy."""

    name = "phantom-sex"
    target = "sex"
    package = "brainmri-core (tests)"
    default_arch = "vt1"
    monitor = ("val_loss", "min")

    def decode(self, outputs: torch.Tensor, task_config: dict, calibration: dict | None = None) -> dict:
        prob = torch.softmax(outputs.float(), dim=1)[:, 1].cpu().numpy().astype(np.float64)
        return {"prob": prob}

    def out_features(self, task_config: dict) -> int:
        return 2

    def loss(self, outputs: torch.Tensor, target: torch.Tensor, task_config: dict) -> torch.Tensor:
        return F.cross_entropy(outputs, target.long(), ignore_index=-1)  # -1: unknown sex

    def metrics(self, records: list[dict], task_config: dict, n_boot: int = 1000, seed: int = 0) -> dict:
        from ..metrics import classification_metrics

        y = np.array([r["target"] for r in records], dtype=int)
        p = np.array([r["prob"] for r in records], dtype=np.float64)
        return classification_metrics(y, p, n_boot=n_boot, seed=seed)


#: The test task (one object, whichever test module registers it first).
TASK = PhantomSexTask()


def register_test_task() -> PhantomSexTask:
    """Register :data:`TASK` in this process and return it."""
    return register_task(TASK)


def main() -> None:
    """``python -m brainmri.core.testing.task train|evaluate|predict ...``: the test task's CLI.

    The commands are the ones every task package gets from
    :func:`~brainmri.core.training.cli_factory.add_task_commands`, so core's tests run the
    engine under ``torchrun`` and through the shared CLI without a task package.
    """
    import click

    from ..training.cli_factory import add_task_commands

    @click.group()
    def cli() -> None:
        """The phantom-sex test task."""

    register_test_task()
    add_task_commands(cli, "phantom-sex", default_arch="vt1")
    cli()


if __name__ == "__main__":
    main()
