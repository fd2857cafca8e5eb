"""Dataset layouts read as they are published (IXI, EADC-ADNI HarP, MSD, tables, BIDS)."""

from .bids import read_bids
from .harp import read_harp
from .ixi import read_ixi
from .labels import load_labels
from .masks import MaskFinder
from .msd import read_msd
from .registry import DATASET_NAMES, load_dataset
from .subject import DatasetIndex, Subject
from .table import read_rows, read_table

__all__ = [
    "DATASET_NAMES",
    "DatasetIndex",
    "MaskFinder",
    "Subject",
    "load_dataset",
    "load_labels",
    "read_bids",
    "read_harp",
    "read_ixi",
    "read_msd",
    "read_rows",
    "read_table",
]
