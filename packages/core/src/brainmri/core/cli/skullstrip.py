"""`brainmri-core skullstrip` (placeholder until implemented)."""

from __future__ import annotations

import click


@click.command("skullstrip")
def command() -> None:
    """Not implemented yet."""
    raise click.ClickException("brainmri-core skullstrip is not implemented yet")
