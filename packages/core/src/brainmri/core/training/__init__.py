"""The training engine shared by every task: Trainer, run folders, checkpoints, logs, DDP.

Exports are loaded lazily so that task CLIs importing :mod:`.cli_factory` keep ``--help``
instant (torch is imported only when a command runs).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "RunDir": ".rundir",
    "TrainConfig": ".trainer",
    "Trainer": ".trainer",
    "evaluate": ".workflow",
    "train": ".workflow",
    "predict_scans": ".predict",
    "load_checkpoint": ".checkpoints",
    "save_checkpoint": ".checkpoints",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
