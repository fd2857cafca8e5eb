"""Command line of brainmri-explain."""

from __future__ import annotations

import click

from ._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brainmri-explain")
def main() -> None:
    """brainmri-explain: 3D Grad-CAM and attribution maps for trained brainmri models (Captum)."""
