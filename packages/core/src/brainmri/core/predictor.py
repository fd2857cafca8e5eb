"""What ``predict`` feeds a network for one scan, and the way from the network's grid back to the scan.

Every consumer of a trained network (``predict``, ``explain``) gets its :class:`Predictor`
from :meth:`brainmri.core.tasks.Task.predictor`, so an attribution map explains exactly the
input the network sees at prediction time. The default is the run's fused pipeline (one
resample onto the fixed grid, then intensity normalisation); a task whose ``predict`` feeds
something else (segmentation: the whole scan on a grid covering it) returns its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .pipeline import GridBatch, Pipeline
    from .volume import Volume


class Predictor:
    """The network input of one scan on the run's pipeline grid.

    Args:
        pipeline: The run's :class:`~brainmri.core.pipeline.Pipeline` (its config and device).
    """

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size (mm) of the grid the network sees, ``(3,)``."""
        return np.asarray(self.pipeline.config.spacing, dtype=np.float64)

    @property
    def needs_mask(self) -> bool:
        """Whether :meth:`prepare` needs the scan's brain mask (brain-only models)."""
        return bool(self.pipeline.config.needs_mask)

    @property
    def brain_only(self) -> bool:
        """Whether the network sees the scan multiplied by its brain mask (nothing outside it)."""
        return bool(self.pipeline.config.apply_mask)

    def prepare(self, volume: Volume, mask: Volume | None = None) -> GridBatch:
        """The network input of ``volume`` as a :class:`~brainmri.core.pipeline.GridBatch` of one.

        Args:
            volume: The scan (any orientation).
            mask: Its brain mask on the same grid (brain-only models), or None.

        Returns:
            The batch: ``image`` ``(1, 1, X, Y, Z)`` is exactly what the network is given;
            ``matrix`` maps its voxels to the scan's voxels.
        """
        return self.pipeline.preprocess(volume, mask)

    def to_native(self, grid: torch.Tensor, batch: GridBatch, mode: str = "linear") -> list[torch.Tensor]:
        """Tensors ``(B, C, X, Y, Z)`` on the grid of ``batch`` resampled onto each scan's own grid.

        Returns:
            One ``(C, *native_shape)`` tensor per scan; native voxels the grid misses are 0.
        """
        return self.pipeline.to_native(grid, batch, mode)
