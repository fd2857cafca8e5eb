"""Whole-volume segmentation with a trained network, back on the scan's native grid.

scan -> world-aligned grid covering it (one resample, scan-level normalisation) -> sliding
window with Gaussian blending (optional mirroring TTA) -> probabilities -> largest component
per class -> probabilities resampled to the native grid (the pipeline's inverse) -> argmax.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass

import numpy as np
import torch

from brainmri.core.devices import resolve_device
from brainmri.core.geometry import as_triple
from brainmri.core.pipeline import GridBatch, Pipeline, PipelineConfig, Sample
from brainmri.core.predictor import Predictor
from brainmri.core.volume import Volume

from .grids import IntensityStats, WholeVolume, whole_volume
from .labels import task_classes, task_lr_pairs
from .postprocess import keep_largest_components, largest_component
from .sliding_window import sliding_window_inference
from .tta import mirror_tta

#: Default window of unpadded networks whose values do not depend on the window (no InstanceNorm):
#: a large window recomputes the margin less often.
LARGE_WINDOW = 128
#: Largest window :func:`fitted_window` picks, in voxels (160^3): a width-16 vt1-unet infers one
#: such window in about 1.3 GB on CPU.
WINDOW_VOXELS = 160**3


def window_independent(model: torch.nn.Module) -> bool:
    """Whether each output voxel depends only on its receptive field, not on the window's content
    (no InstanceNorm or other per-window statistics)."""
    return not any(isinstance(m, torch.nn.modules.instancenorm._InstanceNorm) for m in model.modules())


def network_geometry(model: torch.nn.Module, roi) -> tuple[tuple[int, int, int], tuple[int, int, int], int]:
    """``(valid input window, output tile, margin)`` of a network for a requested window."""
    net = getattr(model, "module", model)
    roi = tuple(net.valid_size(r) for r in as_triple(roi))
    tile = tuple(net.output_size(r) for r in roi)
    return roi, tile, int(getattr(net, "margin", 0))


def default_window(model: torch.nn.Module, task_config: dict) -> tuple[int, int, int]:
    """The task's ``inference_roi``; else the training patch, grown to :data:`LARGE_WINDOW` for
    unpadded networks whose values do not depend on the window (same result, fewer windows)."""
    if task_config.get("inference_roi"):
        return as_triple(task_config["inference_roi"])
    patch = as_triple(task_config["patch_size"])
    net = getattr(model, "module", model)
    if getattr(net, "margin", 0) > 0 and window_independent(net):
        return tuple(max(p, LARGE_WINDOW) for p in patch)
    return patch


def fitted_window(model: torch.nn.Module, interior, budget: int = WINDOW_VOXELS) -> tuple[int, int, int] | None:
    """The window of an unpadded network that covers an output grid of ``interior`` voxels with the
    fewest input voxels: ``n`` equal tiles per axis (each window at most ``budget`` voxels), so the
    margin is recomputed as rarely as the budget allows. A 2 mm head (90x120x120 output) takes
    one 132x160x160 window instead of eight of 128^3. None when no window of at most 8 tiles an
    axis fits the budget."""
    net = getattr(model, "module", model)
    margin = int(getattr(net, "margin", 0))
    best = None
    for counts in itertools.product(range(1, 9), repeat=3):
        roi = tuple(net.valid_size(math.ceil(int(n) / c) + 2 * margin) for n, c in zip(interior, counts))
        voxels = math.prod(roi)
        if voxels > budget:
            continue
        key = (voxels * math.prod(counts), math.prod(counts))
        if best is None or key < best[0]:
            best = (key, roi)
    return None if best is None else best[1]


def default_overlap(model: torch.nn.Module, task_config: dict) -> float:
    """The task's ``overlap``; if unset, 0 for unpadded networks whose values do not depend on the
    window (every window computes the same value for a voxel, so blending changes nothing), else 0.5."""
    if task_config.get("overlap") is not None:
        return float(task_config["overlap"])
    net = getattr(model, "module", model)
    return 0.0 if getattr(net, "margin", 0) > 0 and window_independent(net) else 0.5


@dataclass
class Segmentation:
    """Result of :meth:`Segmenter.segment`.

    Attributes:
        labels: Native-grid uint8 labels ``(X, Y, Z)`` (the input's shape).
        probabilities: ``(K, X', Y', Z')`` blended probabilities on the world-aligned grid.
        grid: The :class:`WholeVolume` the probabilities live on.
    """

    labels: np.ndarray
    probabilities: torch.Tensor
    grid: WholeVolume


class Segmenter:
    """Runs a segmentation network over whole scans.

    Args:
        model: The network (eval mode is set here).
        pipeline_config: The run's grid (``spacing``, interpolation, normalisation).
        task_config: The run's task configuration (``patch_size``, ``classes``, ``lr_pairs``,
            ``overlap``, ``tta``, ``largest_component``).
        device: Where to run (default: the model's device).
        roi: Sliding window (network input) size; default :func:`default_window`, and for an
            unpadded network without InstanceNorm (whose values do not depend on the window) the
            :func:`fitted_window` of each scan: the fewest input voxels, the margin recomputed
            least.
        overlap: Window overlap; default :func:`default_overlap`.
        tta: ``none``, ``flip-x`` or ``all``; default the task's.
        largest_component: Keep only the largest component of each class; default the task's.
        sw_batch_size: Windows per forward pass.
        amp: ``auto`` (bf16 on CUDA), ``bf16`` or ``off``.
        progress: Progress bar over windows.
        channels_last: Run channels-last 3D convolutions (the model is converted in place, outside
            inference mode); default: on CPU. The training engine passes the layout of the model
            it trains so that validation never changes it.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        pipeline_config: PipelineConfig,
        task_config: dict,
        device=None,
        roi=None,
        overlap: float | None = None,
        tta: str | None = None,
        largest_component: bool | None = None,
        sw_batch_size: int = 1,
        amp: str = "auto",
        progress: bool = False,
        channels_last: bool | None = None,
    ):
        self.model = model.eval()
        self.config = pipeline_config
        self.task_config = task_config
        self.device = resolve_device(device) if device is not None else next(model.parameters()).device
        self.roi, self.tile, self.margin = network_geometry(model, roi or default_window(model, task_config))
        self.fit_window = (
            roi is None
            and not task_config.get("inference_roi")
            and self.margin > 0
            and window_independent(getattr(model, "module", model))
        )
        self.overlap = float(default_overlap(model, task_config) if overlap is None else overlap)
        self.tta = tta or task_config.get("tta", "none")
        self.largest_component = bool(
            task_config.get("largest_component", True) if largest_component is None else largest_component
        )
        self.classes = list(task_classes(task_config))
        self.lr_pairs = task_lr_pairs(task_config)
        self.sw_batch_size = int(sw_batch_size)
        self.amp = amp
        self.progress = progress
        # oneDNN's channels-last 3D convolutions run ~20-25% faster on CPU
        self.channels_last = self.device.type == "cpu" if channels_last is None else bool(channels_last)

    @classmethod
    def from_run(
        cls, run_dir: str | os.PathLike, device="auto", checkpoint: str = "best", **options
    ) -> Segmenter:
        """A segmenter for a run folder (``options`` as in the constructor)."""
        from brainmri.core.tasks import load_run

        _, model, pipeline_config, config = load_run(run_dir, device, checkpoint)
        return cls(model, pipeline_config, config["task_config"], **options)

    def predictor(self):
        """Window -> class probabilities (softmax), with the configured TTA."""
        from brainmri.core.devices import autocast_context

        channels_last = self.channels_last
        if channels_last:
            # Outside inference mode: converted there, the parameters would become inference
            # tensors that a model still in training cannot use in autograd afterwards.
            with torch.inference_mode(False):
                self.model.to(memory_format=torch.channels_last_3d)

        def forward(x: torch.Tensor) -> torch.Tensor:
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last_3d)
            with autocast_context(self.device, self.amp):
                out = self.model(x)
            return torch.softmax(out.float(), dim=1).contiguous()

        return mirror_tta(forward, self.tta, self.lr_pairs)

    def prepare(self, sample: Sample, stats: IntensityStats | None = None) -> WholeVolume:
        """The sample on the grid covering it (labels too, when it has them)."""
        stats = stats or IntensityStats.of(sample.data, self.config)
        return whole_volume(
            sample.data,
            sample.affine,
            self.config,
            stats,
            self.margin,
            self.tile,
            self.device,
            labels=sample.labels,
            meta=sample.meta,
            num_classes=len(self.classes) + 1,
        )

    def window(self, grid: WholeVolume) -> tuple[int, int, int]:
        """The sliding window for one grid: :func:`fitted_window` where the window is free."""
        if self.fit_window:
            fitted = fitted_window(self.model, grid.batch.image.shape[2:])
            if fitted is not None:
                return fitted
        return self.roi

    @torch.inference_mode()
    def probabilities(self, grid: WholeVolume) -> torch.Tensor:
        """Blended class probabilities ``(K, X, Y, Z)`` on the grid's output (interior)."""
        self.model.eval()
        return sliding_window_inference(
            grid.input,
            self.predictor(),
            self.window(grid),
            self.overlap,
            sw_batch_size=self.sw_batch_size,
            margin=self.margin,
            progress=self.progress,
        )[0]

    def clean(self, probs: torch.Tensor) -> torch.Tensor:
        """Probabilities where voxels outside each class's largest component lose that class."""
        if not self.largest_component:
            return probs
        if probs.is_inference():
            probs = probs.clone()  # a normal tensor, editable outside inference mode
        labels = probs.argmax(0).cpu().numpy()
        for c in self.classes:
            mask = labels == c
            drop = mask & ~largest_component(mask)
            if drop.any():
                probs[c][torch.from_numpy(drop).to(probs.device)] = 0.0
        return probs

    def to_native(self, probs: torch.Tensor, grid: WholeVolume) -> np.ndarray:
        """Native-grid labels: the probabilities resampled by the pipeline's inverse, then argmax."""
        native = Pipeline(self.config, self.device).to_native(probs[None], grid.batch)[0]
        labels = native.argmax(0).to(torch.uint8).cpu().numpy()
        if self.largest_component:
            labels = keep_largest_components(labels, self.classes)
        return labels

    def segment(self, volume: Volume | Sample) -> Segmentation:
        """Segment one scan (any orientation); labels come back on its own grid."""
        sample = (
            volume
            if isinstance(volume, Sample)
            else Sample(volume.data, volume.affine, meta={"path": volume.path})
        )
        grid = self.prepare(Sample(sample.data, sample.affine, meta=sample.meta))
        probs = self.clean(self.probabilities(grid))
        return Segmentation(self.to_native(probs, grid), probs, grid)


class WholeScanPredictor(Predictor):
    """What ``segment predict`` feeds the network, for ``explain`` (``HippocampusTask.predictor``).

    The whole scan on the world-aligned grid covering it, margin included, normalised over
    the scan (:meth:`Segmenter.prepare`): the tensor the sliding windows are cut from.

    Args:
        segmenter: The run's :class:`Segmenter`.
    """

    def __init__(self, segmenter: Segmenter):
        super().__init__(Pipeline(segmenter.config, segmenter.device))
        self.segmenter = segmenter

    @property
    def needs_mask(self) -> bool:
        return False  # segmentation runs on the whole head

    def prepare(self, volume: Volume, mask: Volume | None = None) -> GridBatch:
        sample = Sample(volume.data, volume.affine, meta={"path": volume.path})
        return self.segmenter.prepare(sample).input_batch()
