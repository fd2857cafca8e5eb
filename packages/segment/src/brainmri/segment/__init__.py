"""brainmri-segment: hippocampus segmentation (0 background, 1 left, 2 right)."""

from ._version import __version__

__all__ = ["__version__"]
