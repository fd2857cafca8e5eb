"""`brainmri-core info` (placeholder until implemented)."""

from __future__ import annotations

import click


@click.command("info")
def command() -> None:
    """Not implemented yet."""
    raise click.ClickException("brainmri-core info is not implemented yet")
