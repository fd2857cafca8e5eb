"""Per-sample spatial matrices: reorientation, spacing, centring and augmentation as one map."""

from __future__ import annotations

import numpy as np

from ..errors import ScanError
from ..geometry import flip_x_about, mask_box_centre_world, mask_centroid_world, ras_grid_affine, similarity_about
from ..volume import Volume
from .batch import Sample
from .config import PipelineConfig


def centre_world(sample: Sample, config: PipelineConfig) -> np.ndarray:
    """World point (mm) the target grid is centred on for this sample."""
    if config.centre != "scan":
        if sample.mask is None:
            raise ValueError(f"centre={config.centre!r} needs a brain mask for every sample")
        at = mask_centroid_world if config.centre == "mask" else mask_box_centre_world
        try:
            return at(sample.mask, sample.affine)
        except ValueError:  # the only one they raise: an empty mask
            raise ScanError(sample.meta.get("path"), f"its brain mask is empty (centre={config.centre!r})") from None
    from ..geometry import volume_centre_world

    return volume_centre_world(Volume(sample.data, sample.affine), config.centre_convention)


def target_affine(sample: Sample, config: PipelineConfig) -> np.ndarray:
    """``(4, 4)`` RAS affine of the target grid for this sample."""
    return ras_grid_affine(config.spacing, config.shape, centre_world(sample, config), config.centre_convention)


def random_world_transform(centre, config: PipelineConfig, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """A random world-space map about ``centre`` and whether it mirrors left-right.

    An output voxel at world point ``w`` samples the scan at ``M @ w``.
    """
    aug = config.augment
    rotation = rng.uniform(-aug.rotation_deg, aug.rotation_deg, size=3) if aug.rotation_deg else 0.0
    scale = rng.uniform(1.0 - aug.scale, 1.0 + aug.scale) if aug.scale else 1.0
    shift = rng.uniform(-aug.translation_mm, aug.translation_mm, size=3) if aug.translation_mm else 0.0
    m = similarity_about(centre, rotation, scale, shift)
    flipped = bool(aug.flip_lr_prob and rng.random() < aug.flip_lr_prob)
    if flipped:
        m = m @ flip_x_about(centre)
    return m, flipped


def sample_matrices(
    samples: list[Sample], config: PipelineConfig, augment: bool, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target affines, grid-voxel -> native-voxel matrices and flip flags for a batch.

    Returns:
        ``(affines (B,4,4), matrices (B,4,4), flipped (B,))``.
    """
    affines, matrices, flips = [], [], []
    for s in samples:
        centre = centre_world(s, config)
        t = ras_grid_affine(config.spacing, config.shape, centre, config.centre_convention)
        world = np.eye(4)
        flipped = False
        if augment and config.augment.spatial:
            world, flipped = random_world_transform(centre, config, rng or np.random.default_rng())
        affines.append(t)
        matrices.append(np.linalg.inv(s.affine) @ world @ t)
        flips.append(flipped)
    return np.stack(affines), np.stack(matrices), np.asarray(flips, dtype=bool)
