"""Command line of brainmri-classify."""

from __future__ import annotations

import click

from ._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brainmri-classify")
def main() -> None:
    """brainmri-classify: sex classification (0 = male, 1 = female) from 3D T1 MRI."""
