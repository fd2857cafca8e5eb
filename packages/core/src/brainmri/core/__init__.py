"""brainmri-core: scans with exact geometry, the one-resample pipeline, datasets and loading."""

from ._version import __version__
from .errors import BrainmriError, DatasetError, ScanError
from .io import load_volume, save_volume
from .volume import Volume

__all__ = [
    "BrainmriError",
    "DatasetError",
    "ScanError",
    "Volume",
    "__version__",
    "load_volume",
    "save_volume",
]
