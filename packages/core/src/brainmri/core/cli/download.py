"""``brainmri-core download``: a published dataset into the layout ``--dataset ixi|msd`` reads."""

from __future__ import annotations

import click

from .options import handle_errors


def _md5_pairs(values: tuple[str, ...]) -> dict[str, str]:
    from ..errors import BrainmriError

    pairs = {}
    for value in values:
        name, sep, digest = value.partition("=")
        if not sep or not name or len(digest) != 32:
            raise BrainmriError(f"--md5 {value!r}: expected FILE=HEX (32 hex digits)")
        pairs[name] = digest
    return pairs


@click.command("download", short_help="Download IXI T1 or MSD Task04 Hippocampus into a folder.")
@click.argument("dataset", type=click.Choice(["ixi", "msd-hippocampus"]))
@click.argument("dest", type=click.Path(file_okay=False))
@click.option(
    "--base-url",
    envvar="BRAINMRI_DOWNLOAD_BASE_URL",
    metavar="URL",
    help="A mirror holding the same files (env BRAINMRI_DOWNLOAD_BASE_URL). Default: the publisher's.",
)
@click.option(
    "--md5",
    "md5",
    multiple=True,
    metavar="FILE=HEX",
    help="Checksum replacing the published one (a mirror of another version); repeatable.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def command(dataset, dest, base_url, md5, quiet):
    """Download DATASET into DEST (absent or empty), verified and extracted.

    ixi: IXI-T1.tar (all T1 scans, md5 checked) and IXI.xls; then train with
    --dataset ixi --root DEST. msd-hippocampus: Task04_Hippocampus.tar (md5 checked); then
    --dataset msd --root DEST. An interrupted download resumes when the command is run
    again; DEST appears only once everything is downloaded, verified and readable.
    """
    from ..datasets.download import SOURCES, download_dataset

    path = download_dataset(dataset, dest, base_url=base_url, md5=_md5_pairs(md5), progress=not quiet)
    source = SOURCES[dataset]
    click.echo(f"{path}: ready, read it with --dataset {source.layout} --root {path} ({source.licence})", err=True)
