"""``--glob PATTERN``: which files of a folder argument a batch command takes."""

from __future__ import annotations

import click

glob_option = click.option(
    "--glob",
    metavar="PATTERN",
    default=None,
    help="Only files in folder arguments whose path matches PATTERN (from the right, e.g. "
         "'*_T1w.nii.gz' or 'sub-*/anat/*.nii.gz'; quote it). Files named explicitly are always "
         "taken. Masks and label maps in folders are skipped with a note either way.",
)
