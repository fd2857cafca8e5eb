"""`brainmri-core preprocess` (placeholder until implemented)."""

from __future__ import annotations

import click


@click.command("preprocess")
def command() -> None:
    """Not implemented yet."""
    raise click.ClickException("brainmri-core preprocess is not implemented yet")
