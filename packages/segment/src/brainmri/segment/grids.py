"""Patch grids and whole-volume grids: one resample each, scan-level intensity normalisation.

A training patch is a small world-aligned (RAS) grid centred on a chosen world point; the
whole-volume grid covers the scan (plus the network's margin). Both are sampled with ONE
interpolation (:func:`brainmri.core.resample.warp`) from the native array: the grid-voxel ->
native-voxel matrix composes reorientation, spacing, centring and augmentation, and only the
native voxels the grid touches are cut out first (a crop is not an interpolation, and the
values are those of sampling the whole array).

Intensities are normalised with statistics of the whole scan (:class:`IntensityStats`),
computed once per scan on its native voxels, so a patch and the same region of the whole
volume get the same values: a network trained on patches sees at inference what it saw in
training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from brainmri.core.geometry import covering_grid, ras_grid_affine
from brainmri.core.pipeline import GridBatch, PipelineConfig
from brainmri.core.resample import resample_labels, warp
from brainmri.core.volume import Volume


@dataclass(frozen=True)
class IntensityStats:
    """A scan's normalisation: clip to ``[low, high]``, subtract ``mean``, divide by ``std``.

    Attributes:
        low, high: Clipping bounds (``-inf``/``inf`` when clipping is off).
        mean, std: Mean and standard deviation of the clipped region values.
    """

    low: float
    high: float
    mean: float
    std: float

    @classmethod
    def of(cls, data: np.ndarray, config: PipelineConfig, stride: int = 2) -> IntensityStats:
        """Statistics of a native scan as the pipeline config asks for them.

        Args:
            data: Native image ``(X, Y, Z)``.
            config: Its ``zscore_region`` (``foreground``: voxels above the scan's mean;
                ``nonzero``; ``all``) and ``clip_percentiles`` (of the region) are used.
            stride: Every ``stride``-th voxel along each axis is used (the statistics of a
                head barely move; 8x faster at 2).

        Raises:
            ValueError: ``zscore_region='mask'`` (brain masks are not used for segmentation).
        """
        values = np.asarray(data[::stride, ::stride, ::stride], dtype=np.float32).ravel()
        region = config.zscore_region
        if region == "foreground":
            values = values[values > values.mean()]
        elif region == "nonzero":
            values = values[values > 0]
        elif region != "all":
            raise ValueError(
                f"segmentation normalises over foreground, nonzero or all voxels, not {region!r}"
            )
        if values.size < 2:
            values = np.asarray(data, dtype=np.float32).ravel()
        low, high = -np.inf, np.inf
        if config.clip_percentiles is not None:
            low, high = (float(v) for v in np.percentile(values, config.clip_percentiles))
            values = np.clip(values, low, high)
        std = float(values.std())
        return cls(float(low), float(high), float(values.mean()), std if std > 0 else 1.0)

    def apply(self, image: torch.Tensor) -> torch.Tensor:
        """Normalised ``image`` (any shape)."""
        if np.isfinite(self.low) or np.isfinite(self.high):
            image = image.clamp(self.low, self.high)
        return (image - self.mean) / self.std


def _tensor(array: np.ndarray, device, dtype=torch.float32) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(array))
    if t.dtype in (torch.uint16, torch.uint32, torch.uint64):
        t = t.to(torch.int64)
    return t.to(device=device, dtype=dtype)[None, None]


def crop_box(matrix: np.ndarray, out_shape, native_shape) -> tuple[tuple[slice, ...], np.ndarray] | None:
    """The native voxels a grid samples, and the grid's matrix into that crop.

    Args:
        matrix: ``(4, 4)`` grid voxel -> native voxel.
        out_shape: Grid shape.
        native_shape: Native array shape.

    Returns:
        ``(slices, matrix into the crop)``, or None when the grid lies wholly outside.
    """
    corners = np.array(np.meshgrid(*[[0, s - 1] for s in out_shape], indexing="ij")).reshape(3, -1)
    pts = matrix[:3, :3] @ corners + matrix[:3, 3:4]
    lo = np.maximum(np.floor(pts.min(axis=1)).astype(int) - 1, 0)
    hi = np.minimum(np.ceil(pts.max(axis=1)).astype(int) + 2, np.asarray(native_shape))
    if np.any(hi - lo < 1):
        return None
    shift = np.eye(4)
    shift[:3, 3] = -lo
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi)), shift @ matrix


def sample_image(
    data: np.ndarray, matrix: np.ndarray, out_shape, device, mode: str = "linear"
) -> torch.Tensor:
    """One interpolation of a native image onto a grid.

    Args:
        data: Native image ``(X, Y, Z)``.
        matrix: ``(4, 4)`` grid voxel -> native voxel (augmentation included).
        out_shape: Grid shape.
        device: Where the crop is sent and sampled.
        mode: ``linear`` or ``cubic``.

    Returns:
        ``(1, 1, *out_shape)`` float32, zero outside the scan.
    """
    out_shape = tuple(int(s) for s in out_shape)
    box = crop_box(matrix, out_shape, data.shape)
    if box is None:
        return torch.zeros((1, 1, *out_shape), device=device)
    slices, m = box
    return warp(_tensor(data[slices], device), m, out_shape, mode).float()


def sample_labels(
    labels: np.ndarray, matrix: np.ndarray, out_shape, device, method: str = "nearest", num_classes: int = 3
) -> torch.Tensor:
    """One resample of a native integer label map onto a grid (no new label values).

    Args:
        labels: Native labels ``(X, Y, Z)``.
        matrix: ``(4, 4)`` grid voxel -> native voxel.
        out_shape: Grid shape.
        device: Where the crop is sent and sampled.
        method: ``nearest`` or ``linear`` (one-hot, then argmax).
        num_classes: Label values ``0..K-1`` (for ``linear``).

    Returns:
        ``(1, 1, *out_shape)`` int64, 0 outside the scan.
    """
    out_shape = tuple(int(s) for s in out_shape)
    box = crop_box(matrix, out_shape, labels.shape)
    if box is None:
        return torch.zeros((1, 1, *out_shape), dtype=torch.int64, device=device)
    slices, m = box
    return resample_labels(
        _tensor(labels[slices], device, torch.int64), m, out_shape, num_classes=num_classes, method=method
    )


@dataclass
class WholeVolume:
    """A scan on a grid covering it, ready for sliding-window inference.

    Attributes:
        input: ``(1, 1, X + 2m, Y + 2m, Z + 2m)`` normalised image including the margin.
        margin: Voxels per side that the network loses.
        batch: The output grid (the interior) as a :class:`GridBatch` of one: its ``image``
            is the interior of ``input``, ``matrix`` maps output-grid voxels to native voxels
            (what :meth:`brainmri.core.pipeline.Pipeline.to_native` inverts) and ``labels``
            holds the resampled labels when given.
    """

    input: torch.Tensor
    margin: int
    batch: GridBatch

    def input_batch(self) -> GridBatch:
        """The network input itself (margin included) as a :class:`GridBatch` of one.

        Its ``image`` is :attr:`input`, the tensor sliding-window inference cuts its windows
        from; ``affine`` and ``matrix`` describe that larger grid, so
        :meth:`~brainmri.core.pipeline.Pipeline.to_native` maps maps on it (Grad-CAM) back to
        the scan.
        """
        shift = np.eye(4)
        shift[:3, 3] = -self.margin  # input voxel -> output-grid voxel
        b = self.batch
        return GridBatch(
            image=self.input,
            affine=b.affine @ shift,
            matrix=b.matrix @ shift,
            native_shapes=list(b.native_shapes),
            native_affines=b.native_affines,
            meta=list(b.meta),
        )


def whole_volume(
    data: np.ndarray,
    affine: np.ndarray,
    config: PipelineConfig,
    stats: IntensityStats,
    margin: int = 0,
    min_shape=(1, 1, 1),
    device="cpu",
    labels: np.ndarray | None = None,
    meta: dict | None = None,
    num_classes: int = 3,
) -> WholeVolume:
    """The scan on a world-aligned grid at ``config.spacing`` covering every native voxel.

    Args:
        data: Native image ``(X, Y, Z)``.
        affine: Its ``(4, 4)`` affine.
        config: Spacing and interpolation.
        stats: Intensity normalisation of the scan.
        margin: Extra voxels per side for an unpadded network.
        min_shape: Smallest output grid (e.g. the network's output tile), grown about the
            same centre.
        device: Where the grid lives.
        labels: Native labels to resample with the image (validation), or None.
        meta: Carried into the batch.
        num_classes: Label classes (for linear label interpolation).
    """
    shape, cover = covering_grid(Volume(data, affine), config.spacing)
    centre = cover[:3, :3] @ ((np.asarray(shape) - 1) / 2.0) + cover[:3, 3]
    out_shape = tuple(max(int(s), int(t)) for s, t in zip(shape, min_shape))
    out_affine = ras_grid_affine(config.spacing, out_shape, centre)
    in_shape = tuple(s + 2 * margin for s in out_shape)
    in_affine = ras_grid_affine(config.spacing, in_shape, centre)
    affine = np.asarray(affine, dtype=np.float64)
    inv = np.linalg.inv(affine)
    image = stats.apply(sample_image(data, inv @ in_affine, in_shape, device, config.interpolation))
    lab = None
    if labels is not None:
        lab = sample_labels(
            labels, inv @ out_affine, out_shape, device, config.label_interpolation, num_classes
        )
    interior = image[(..., *(slice(margin, margin + s) for s in out_shape))]
    batch = GridBatch(
        image=interior,
        affine=out_affine[None],
        matrix=(inv @ out_affine)[None],
        native_shapes=[tuple(int(s) for s in data.shape[:3])],
        native_affines=affine[None],
        labels=lab,
        meta=[dict(meta or {})],
    )
    return WholeVolume(image, int(margin), batch)
