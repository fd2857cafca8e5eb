"""brainmri-segment: hippocampus segmentation (0 background, 1 left, 2 right).

Exports load lazily so that ``brainmri-segment --help`` stays instant (torch is imported
only when a command runs).
"""

from __future__ import annotations

import importlib

from ._version import __version__

_EXPORTS = {
    "HIPPOCAMPUS_CLASSES": ".labels",
    "HIPPOCAMPUS_LR_PAIRS": ".labels",
    "IntensityStats": ".grids",
    "PatchSampler": ".sampling",
    "SMPUNet": ".models",
    "SegmentTrainer": ".training",
    "Segmenter": ".inference",
    "TASK": ".task",
    "VT1UNet": ".models",
    "build_segmentation_model": ".models",
    "demo_segment": ".demo",
    "dice": ".metrics",
    "evaluate_predictions": ".evaluate",
    "evaluate_run": ".evaluate",
    "hausdorff": ".metrics",
    "hd95": ".metrics",
    "keep_largest_components": ".postprocess",
    "mirror_tta": ".tta",
    "overlay_png": ".plotting",
    "predict_scans": ".predict",
    "segmentation_loss": ".losses",
    "segmentation_metrics": ".metrics",
    "sliding_window_inference": ".sliding_window",
    "summarise": ".metrics",
    "train_segmentation": ".training",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
