"""brainmri-explain: 3D Grad-CAM and attribution maps for trained brainmri models (Captum)."""

from ._version import __version__

__all__ = ["__version__"]
