"""brainmri-classify: sex classification (0 = male, 1 = female) from 3D T1 MRI."""

from ._version import __version__

__all__ = ["__version__"]
