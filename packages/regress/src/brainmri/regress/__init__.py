"""brainmri-regress: brain-age regression from 3D T1 MRI.

The task (``AgeTask``, registered as ``age`` in the ``brainmri.tasks`` entry point group),
the losses and the age-bias correction are loaded lazily so that ``--help`` stays instant.
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["AgeTask", "TASK", "__version__", "apply_bias", "fit_bias", "soft_label_loss", "soft_labels"]

_LAZY = {"AgeTask": "task", "TASK": "task", "apply_bias": "bias", "fit_bias": "bias",
         "soft_label_loss": "losses", "soft_labels": "losses"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
