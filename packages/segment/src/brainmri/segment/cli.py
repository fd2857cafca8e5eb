"""Command line of brainmri-segment."""

from __future__ import annotations

import click

from ._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brainmri-segment")
def main() -> None:
    """brainmri-segment: hippocampus segmentation (0 background, 1 left, 2 right)."""
