"""brainmri-explain: 3D Grad-CAM and attribution maps for trained brainmri models (Captum).

Explain reaches trained runs only through the core task registry, so it works with whichever
task packages are installed. Importing this package is light; torch and Captum load with the
functions that need them.
"""

from __future__ import annotations

import importlib

from ._version import __version__

_EXPORTS = {
    "Attribution": ".attribution",
    "METHODS": ".attribution",
    "attribute": ".attribution",
    "prepare_model": ".attribution",
    "LayerInfo": ".layers",
    "conv_layers": ".layers",
    "default_layer": ".layers",
    "Target": ".targets",
    "select_target": ".targets",
    "infer_kind": ".targets",
    "upsample_to_grid": ".native",
    "map_to_native": ".native",
    "save_native_map": ".native",
    "save_montage": ".montage",
    "region_fractions": ".regions",
    "SanityReport": ".sanity",
    "cascading_randomization": ".sanity",
    "sanity_check_volume": ".sanity",
    "ScanExplanation": ".workflow",
    "explain_volume": ".workflow",
    "explain_scans": ".workflow",
    "open_run": ".workflow",
    "explain_demo": ".demo",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
