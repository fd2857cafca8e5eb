"""The ``brainmri-core`` command. Each sub-command lives in its own module; heavy imports
happen inside command bodies so ``--help`` stays instant."""

from __future__ import annotations

import click

from .._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brainmri-core")
def main() -> None:
    """brainmri-core: scans, preprocessing, datasets and brain extraction for 3D brain MRI."""


def _register() -> None:
    from . import download, info, preprocess, skullstrip, split, synth

    for module in (info, preprocess, synth, split, skullstrip, download):
        main.add_command(module.command)


_register()
