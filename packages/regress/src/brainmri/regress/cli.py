"""Command line of brainmri-regress."""

from __future__ import annotations

import click

from ._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brainmri-regress")
def main() -> None:
    """brainmri-regress: brain-age regression from 3D T1 MRI."""
