"""`brainmri-core split` (placeholder until implemented)."""

from __future__ import annotations

import click


@click.command("split")
def command() -> None:
    """Not implemented yet."""
    raise click.ClickException("brainmri-core split is not implemented yet")
