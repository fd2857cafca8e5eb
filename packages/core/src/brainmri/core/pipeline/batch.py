"""What goes into the pipeline (:class:`Sample`) and what comes out (:class:`GridBatch`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..volume import Volume


@dataclass
class Sample:
    """One decoded scan on its native grid, as the loader hands it to the pipeline.

    Args:
        data: Image ``(X, Y, Z)``, any numeric dtype.
        affine: ``(4, 4)`` native voxel-to-world affine.
        mask: Optional brain mask ``(X, Y, Z)`` on the same grid.
        labels: Optional integer label map ``(X, Y, Z)`` on the same grid.
        meta: Anything the caller wants carried along (subject id, path).
    """

    data: np.ndarray
    affine: np.ndarray
    mask: np.ndarray | None = None
    labels: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_volume(cls, volume: Volume, mask: Volume | None = None, labels: Volume | None = None) -> Sample:
        """A sample from Volumes; mask and labels must share the image's grid."""
        for other, what in ((mask, "mask"), (labels, "labels")):
            if other is not None and (other.shape != volume.shape or not np.allclose(other.affine, volume.affine,
                                                                                     atol=1e-3)):
                from ..errors import ScanError

                raise ScanError(other.path, f"{what} grid {other.shape} does not match the image {volume.path}")
        return cls(
            volume.data,
            volume.affine,
            None if mask is None else mask.data,
            None if labels is None else labels.data,
            {"path": volume.path},
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """Native spatial shape."""
        return tuple(int(s) for s in self.data.shape[:3])


@dataclass
class GridBatch:
    """A batch on the pipeline's target grid.

    Attributes:
        image: ``(B, 1, X, Y, Z)`` float32 normalised images on the pipeline's device.
        affine: ``(B, 4, 4)`` float64 voxel-to-world affines of the target grids (RAS).
        matrix: ``(B, 4, 4)`` float64 maps from grid voxel to native voxel (augmentation included).
        native_shapes: Native shape of each sample.
        native_affines: ``(B, 4, 4)`` native affines.
        labels: ``(B, 1, X, Y, Z)`` int64 labels, if the samples had labels.
        mask: ``(B, 1, X, Y, Z)`` float32 brain masks (0/1), if the samples had masks.
        flipped: ``(B,)`` bool, whether a left-right flip was applied.
        meta: Each sample's ``meta``.
    """

    image: torch.Tensor
    affine: np.ndarray
    matrix: np.ndarray
    native_shapes: list[tuple[int, int, int]]
    native_affines: np.ndarray
    labels: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    flipped: np.ndarray | None = None
    meta: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.image.shape[0])
