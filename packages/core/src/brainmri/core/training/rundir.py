"""The run directory every ``train`` writes and ``evaluate``/``predict``/``explain`` read.

Layout (DESIGN.md, "Run directories")::

    RUN/
      config.json        task, architecture, pipeline config, hyper-parameters, versions
      split.json         subject ids per split
      checkpoints/       last.pt, best.pt
      log.csv            one row per epoch (TensorBoard events beside it)
      metrics.json       final metrics per split
      predictions.csv    one row per subject and split
      calibration.json   task post-processing fitted on the validation split (e.g. age bias)

Every file is written atomically.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..atomic import write_csv_atomic, write_text_atomic
from ..errors import BrainmriError


class RunDir:
    """Paths and atomic readers/writers of one run folder.

    Args:
        path: The run folder (created on the first write).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # Paths -------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def split_path(self) -> Path:
        return self.path / "split.json"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoint_dir / "best.pt"

    @property
    def log_path(self) -> Path:
        return self.path / "log.csv"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def predictions_path(self) -> Path:
        return self.path / "predictions.csv"

    @property
    def calibration_path(self) -> Path:
        return self.path / "calibration.json"

    # Checks ------------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the folder holds a run (its config.json)."""
        return self.config_path.is_file()

    def require(self) -> RunDir:
        """Raise a one-line :class:`BrainmriError` unless this is a run folder."""
        if not self.path.is_dir():
            raise BrainmriError(f"{self.path}: run folder not found")
        if not self.exists():
            raise BrainmriError(f"{self.path}: not a run folder (no config.json)")
        return self

    # JSON --------------------------------------------------------------------------------
    def _read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BrainmriError(f"{path}: file not found") from None
        except (OSError, ValueError) as exc:
            raise BrainmriError(f"{path}: unreadable JSON ({exc})") from None

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``RUN/name`` as indented JSON, atomically."""
        path = self.path / name
        write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")
        return path

    def read_config(self) -> dict:
        """The run's config.json."""
        self.require()
        return self._read_json(self.config_path)

    def write_config(self, config: dict) -> Path:
        return self.write_json("config.json", config)

    def read_calibration(self) -> dict | None:
        """calibration.json, or None when the run has none."""
        return self._read_json(self.calibration_path) if self.calibration_path.is_file() else None

    def write_calibration(self, calibration: dict | None) -> None:
        if calibration is not None:
            self.write_json("calibration.json", calibration)

    def read_metrics(self) -> dict:
        return self._read_json(self.metrics_path) if self.metrics_path.is_file() else {}

    def update_metrics(self, split: str, metrics: dict) -> Path:
        """Set ``metrics[split]`` in metrics.json, keeping the other splits."""
        data = self.read_metrics()
        data[split] = metrics
        return self.write_json("metrics.json", data)

    # CSV ---------------------------------------------------------------------------------
    def read_csv(self, path: Path) -> list[dict[str, str]]:
        if not path.is_file():
            return []
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    def write_csv(self, path: Path, rows: Iterable[dict], columns: list[str] | None = None) -> Path:
        """Write rows (dicts) as CSV atomically (:func:`~brainmri.core.atomic.write_csv_atomic`)."""
        return write_csv_atomic(path, rows, columns)

    def update_predictions(self, split: str, rows: list[dict]) -> Path:
        """Replace the rows of ``split`` in predictions.csv, keeping the other splits."""
        kept = [r for r in self.read_csv(self.predictions_path) if r.get("split") != split]
        new = [{"split": split, **r} for r in rows]
        return self.write_csv(self.predictions_path, kept + new)


def _json_default(value):
    import numpy as np

    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
