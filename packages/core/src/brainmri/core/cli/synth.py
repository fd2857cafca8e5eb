"""`brainmri-core synth` (placeholder until implemented)."""

from __future__ import annotations

import click


@click.command("synth")
def command() -> None:
    """Not implemented yet."""
    raise click.ClickException("brainmri-core synth is not implemented yet")
