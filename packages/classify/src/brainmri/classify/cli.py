"""Command line of brainmri-classify: ``train``, ``evaluate`` and ``predict`` for the sex task."""

from __future__ import annotations

import click

from brainmri.core.training.cli_factory import add_task_commands

from ._version import __version__
from .defaults import BRAIN_TRAIN_DEFAULTS, TRAIN_DEFAULTS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brainmri-classify")
def main() -> None:
    """brainmri-classify: sex classification (0 = male, 1 = female) from 3D T1 MRI."""


add_task_commands(
    main,
    "sex",
    task_options=[click.option("--threshold", type=float, default=0.5, show_default=True,
                               help="p(female) at or above which a scan is called female.")],
    default_arch="vt1",
    train_defaults=TRAIN_DEFAULTS,  # the cross-validated recipe (defaults.py)
    brain_train_defaults=BRAIN_TRAIN_DEFAULTS,  # brain-only input keeps 40 epochs (defaults.py)
)
