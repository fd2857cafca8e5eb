"""One entry point for every dataset layout: :func:`load_dataset`."""

from __future__ import annotations

import os

from ..errors import DatasetError
from .bids import read_bids
from .harp import read_harp
from .ixi import read_ixi
from .msd import read_msd
from .subject import DatasetIndex
from .table import read_table

#: Layout name -> reader. ``harp`` is an alias of ``adni``.
READERS = {
    "ixi": read_ixi,
    "adni": read_harp,
    "harp": read_harp,
    "msd": read_msd,
    "table": read_table,
    "bids": read_bids,
}

#: Layout names shown to users (CLI choices).
DATASET_NAMES = ("ixi", "adni", "msd", "table", "bids")


def load_dataset(
    name: str, root: str | os.PathLike, *, metadata=None, mask_dir=None, split=None
) -> DatasetIndex:
    """Read a dataset folder laid out as published.

    Args:
        name: ``ixi``, ``adni`` (EADC-ADNI HarP; alias ``harp``), ``msd``, ``table`` or ``bids``.
        root: Dataset folder (for ``table``: the table file or its folder).
        metadata: Demographics/index file overriding the layout's default (IXI sheet,
            participants.tsv, dataset.json, the table).
        mask_dir: Folder with brain masks (``<scan stem>_mask.nii.gz``); scans without one
            are skipped and counted.
        split: A published split: ``train``/``test`` for ``adni`` and ``msd``; None elsewhere.

    Returns:
        The :class:`DatasetIndex` (skipped items counted and warned about once).

    Raises:
        DatasetError: Unknown name or a folder/table without the expected layout.
    """
    reader = READERS.get(str(name).lower())
    if reader is None:
        raise DatasetError(root, f"unknown dataset layout {name!r}; use one of {', '.join(DATASET_NAMES)}")
    return reader(root, metadata=metadata, mask_dir=mask_dir, split=split)
