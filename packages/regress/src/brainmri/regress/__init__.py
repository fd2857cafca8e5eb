"""brainmri-regress: brain-age regression from 3D T1 MRI."""

from ._version import __version__

__all__ = ["__version__"]
