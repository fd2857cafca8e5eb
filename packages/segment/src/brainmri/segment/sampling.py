"""Label-biased training patches: most centred on a labelled voxel, the rest anywhere in the scan.

:class:`PatchSampler` stands where the training engine calls its pipeline: it takes the
loader's native-grid samples and returns a :class:`~brainmri.core.pipeline.GridBatch` of
patches, each made with ONE resample (centring, random rotation/scale/flip composed into one
matrix, :mod:`brainmri.segment.grids`), normalised with its scan's statistics and
intensity-augmented on the batch's device. A left-right flip swaps labels 1 and 2.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from brainmri.core.devices import resolve_device
from brainmri.core.geometry import ras_grid_affine
from brainmri.core.pipeline import GridBatch, PipelineConfig, Sample
from brainmri.core.pipeline import intensity as aug_intensity
from brainmri.core.pipeline.spatial import random_world_transform

from .grids import IntensityStats, sample_image, sample_labels
from .labels import HIPPOCAMPUS_CLASSES


@dataclass
class ScanInfo:
    """What the sampler keeps per scan: normalisation and the labelled voxels of each class."""

    stats: IntensityStats
    voxels: dict[int, np.ndarray]  # class -> flat indices (C order) of its voxels


def scan_info(sample: Sample, config: PipelineConfig, classes) -> ScanInfo:
    """Normalisation statistics and per-class labelled voxels of one native sample."""
    stats = IntensityStats.of(sample.data, config)
    voxels = {}
    if sample.labels is not None:
        labels = np.asarray(sample.labels)
        for c in classes:
            idx = np.flatnonzero(labels == c)
            if idx.size:
                voxels[int(c)] = idx
    return ScanInfo(stats, voxels)


def swap_label_pairs(labels: torch.Tensor, pairs) -> torch.Tensor:
    """Integer labels with the values of each pair exchanged (a lookup table, one pass)."""
    if not pairs:
        return labels
    top = max(int(labels.max()) if labels.numel() else 0, *(max(p) for p in pairs)) + 1
    lut = torch.arange(top, device=labels.device)
    for a, b in pairs:
        lut[a], lut[b] = b, a
    return lut[labels]


class PatchSampler:
    """Turns native samples into a batch of label-biased, augmented patches.

    Args:
        config: The run's pipeline config: ``spacing``, ``shape`` (the patch, i.e. the
            network input), interpolation, normalisation and ``augment``.
        patches_per_scan: Patches cut from each sample of a batch.
        foreground_fraction: Probability that a patch is centred on a labelled voxel (a class
            drawn uniformly among those present, then one of its voxels); otherwise on any
            voxel of the scan.
        classes: Foreground label values.
        num_classes: Label values ``0..K-1``.
        device: Where patches are sampled and augmented.
        cache_size: Scans whose statistics and labelled voxels are remembered.
    """

    def __init__(
        self,
        config: PipelineConfig,
        patches_per_scan: int = 2,
        foreground_fraction: float = 0.8,
        classes=tuple(HIPPOCAMPUS_CLASSES),
        num_classes: int = 3,
        device="cpu",
        cache_size: int = 4096,
    ):
        self.config = config
        self.patches_per_scan = int(patches_per_scan)
        self.foreground_fraction = float(foreground_fraction)
        self.classes = tuple(int(c) for c in classes)
        self.num_classes = int(num_classes)
        self.device = resolve_device(device)
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = int(cache_size)

    def info(self, sample: Sample) -> ScanInfo:
        """Cached :func:`scan_info` of a sample (keyed by its path and shape)."""
        key = (sample.meta.get("path") or sample.meta.get("subject_id") or id(sample.data), sample.shape)
        hit = self._cache.get(key)
        if hit is None:
            hit = scan_info(sample, self.config, self.classes)
            self._cache[key] = hit
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return hit

    def centre(self, sample: Sample, info: ScanInfo, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        """A world point (mm) to centre a patch on, and whether it is a labelled voxel."""
        shape = sample.shape
        on_label = bool(info.voxels) and rng.random() < self.foreground_fraction
        if on_label:
            cls = list(info.voxels)[int(rng.integers(len(info.voxels)))]
            flat = info.voxels[cls][int(rng.integers(info.voxels[cls].size))]
            index = np.array(np.unravel_index(flat, shape), dtype=np.float64)
        else:
            index = np.array([rng.integers(0, s) for s in shape], dtype=np.float64)
        affine = np.asarray(sample.affine, dtype=np.float64)
        return affine[:3, :3] @ index + affine[:3, 3], on_label

    def __call__(
        self, samples: list[Sample], augment: bool = False, rng: np.random.Generator | int | None = None
    ) -> GridBatch:
        """A batch of ``len(samples) * patches_per_scan`` patches.

        Args:
            samples: Native samples with labels.
            augment: Apply the config's random spatial and intensity augmentation.
            rng: Random generator or seed (reproducible batches).

        Returns:
            :class:`GridBatch`: ``image (N, 1, *shape)`` normalised, ``labels (N, 1, *shape)``,
            the patch affines and grid -> native matrices, ``flipped``, and per patch ``meta``
            (``subject_id``, ``centre_world``, ``on_label``).
        """
        cfg, aug = self.config, self.config.augment
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        raw = augment and bool(aug.bias_field or aug.gamma)  # augment raw intensities, normalise after
        images, labels, affines, matrices, flips, meta, stats = [], [], [], [], [], [], []
        for s in samples:
            info = self.info(s)
            native = np.asarray(s.affine, dtype=np.float64)
            inv = np.linalg.inv(native)
            for _ in range(self.patches_per_scan):
                centre, on_label = self.centre(s, info, rng)
                grid = ras_grid_affine(cfg.spacing, cfg.shape, centre)
                world, flipped = np.eye(4), False
                if augment and aug.spatial:
                    world, flipped = random_world_transform(centre, cfg, rng)
                matrix = inv @ world @ grid
                image = sample_image(s.data, matrix, cfg.shape, self.device, cfg.interpolation)
                images.append(image if raw else info.stats.apply(image))
                stats.append(info.stats)
                if s.labels is not None:
                    lab = sample_labels(
                        s.labels, matrix, cfg.shape, self.device, cfg.label_interpolation, self.num_classes
                    )
                    labels.append(swap_label_pairs(lab, aug.lr_label_pairs) if flipped else lab)
                affines.append(grid)
                matrices.append(matrix)
                flips.append(flipped)
                meta.append({**s.meta, "centre_world": centre.tolist(), "on_label": on_label})
        image = torch.cat(images)
        if raw:
            image = self._raw_augment(image, stats, rng)
        if augment and aug.noise_std:
            image = aug_intensity.random_noise(image, aug.noise_std, rng)
        per_scan = self.patches_per_scan
        return GridBatch(
            image=image,
            affine=np.stack(affines),
            matrix=np.stack(matrices),
            native_shapes=[s.shape for s in samples for _ in range(per_scan)],
            native_affines=np.stack(
                [np.asarray(s.affine, dtype=np.float64) for s in samples for _ in range(per_scan)]
            ),
            labels=torch.cat(labels) if len(labels) == len(images) else None,
            flipped=np.asarray(flips, dtype=bool),
            meta=meta,
        )

    def _raw_augment(
        self, image: torch.Tensor, stats: list[IntensityStats], rng: np.random.Generator
    ) -> torch.Tensor:
        """Bias field and gamma on raw intensities, then each patch's scan normalisation."""
        aug = self.config.augment
        if aug.bias_field:
            image = aug_intensity.random_bias_field(image, aug.bias_field, rng)
        if aug.gamma:
            image = aug_intensity.random_gamma(image, aug.gamma, rng)
        return torch.cat([st.apply(image[i : i + 1]) for i, st in enumerate(stats)])
