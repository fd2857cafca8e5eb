"""Command line of brainmri-regress: ``train``, ``evaluate`` and ``predict`` for the age task."""

from __future__ import annotations

import click

from brainmri.core.training.cli_factory import add_task_commands

from ._version import __version__
from .defaults import TRAIN_DEFAULTS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brainmri-regress")
def main() -> None:
    """brainmri-regress: brain-age regression from 3D T1 MRI (with age-bias correction)."""


add_task_commands(
    main,
    "age",
    task_options=[
        click.option("--loss", type=click.Choice(["l1", "mse", "soft"]), default="mse", show_default=True,
                     help="mse/l1 on standardised age, or soft: SFCN's Gaussian soft labels over 1-year bins (KL; "
                          "with vt1 on ~90 real IXI-HH training scans it stayed at the mean age)."),
        click.option("--soft-sigma", type=float, default=1.0, show_default=True,
                     help="Width (years) of the soft labels."),
        click.option("--bias-correction/--no-bias-correction", default=False, show_default=True,
                     help="Apply the linear age-bias correction fitted on the validation split (it needs "
                          "many validation subjects to help; the fit is recorded either way)."),
    ],
    default_arch="vt1",
    train_defaults=TRAIN_DEFAULTS,  # the cross-validated recipe (defaults.py)
)
