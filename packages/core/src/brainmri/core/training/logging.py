"""Per-epoch logs: ``log.csv`` (rewritten atomically each epoch) and TensorBoard when installed."""

from __future__ import annotations

import math

from .rundir import RunDir


class RunLogger:
    """Appends one row per epoch to ``RUN/log.csv`` and mirrors scalars to TensorBoard.

    On resume, rows after the checkpoint's epoch (written by the killed run after its last
    checkpoint) are dropped, so the log always matches the checkpoints.

    Args:
        run: The run folder.
        resume_epoch: Last completed epoch of the checkpoint resumed from (0: a fresh run).
        tensorboard: Write TensorBoard events beside log.csv when ``tensorboard`` is importable.
    """

    def __init__(self, run: RunDir, resume_epoch: int = 0, tensorboard: bool = True):
        self.run = run
        rows = run.read_csv(run.log_path) if resume_epoch > 0 else []
        self.rows: list[dict] = [r for r in rows if _int(r.get("epoch")) <= resume_epoch]
        self._writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional (brainmri-core[tensorboard])
                SummaryWriter = None
            if SummaryWriter is not None:
                self._writer = SummaryWriter(str(run.path), purge_step=resume_epoch + 1 if resume_epoch else None)

    def log(self, row: dict) -> None:
        """Record one epoch (must contain ``epoch``) and rewrite log.csv."""
        self.rows.append(dict(row))
        self.run.write_csv(self.run.log_path, self.rows)
        if self._writer is not None:
            step = int(row["epoch"])
            for key, value in row.items():
                if key != "epoch" and isinstance(value, (int, float)) and math.isfinite(value):
                    self._writer.add_scalar(key.replace("_", "/", 1), value, step)
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _int(value) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 10**9
