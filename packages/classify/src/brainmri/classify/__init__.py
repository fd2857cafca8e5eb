"""brainmri-classify: sex classification (0 = male, 1 = female) from 3D T1 MRI.

The task (``SexTask``, registered as ``sex`` in the ``brainmri.tasks`` entry point group)
is loaded lazily so that ``brainmri-classify --help`` stays instant.
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["SexTask", "TASK", "__version__"]


def __getattr__(name: str):
    if name in ("SexTask", "TASK"):
        from . import task

        return getattr(task, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
