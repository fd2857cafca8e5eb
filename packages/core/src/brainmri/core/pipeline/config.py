"""The pipeline configuration: plain data, saved with every run and reloaded by predict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..geometry import CENTRE_CONVENTIONS, as_triple
from ..resample import MODES

#: Where a grid is centred: the scan's voxel grid, the brain mask's centroid or its bounding box.
CENTRES = ("scan", "mask", "mask_box")


@dataclass(frozen=True)
class AugmentConfig:
    """Random spatial and intensity augmentation, applied only when asked (training).

    Args:
        rotation_deg: Maximum absolute rotation about each world axis, degrees.
        scale: Maximum relative isotropic scaling (0.1 means 0.9-1.1).
        translation_mm: Maximum absolute shift along each world axis, mm.
        flip_lr_prob: Probability of mirroring left-right (world x).
        lr_label_pairs: Label pairs swapped by a left-right flip, e.g. ``((1, 2),)`` for
            left/right hippocampus.
        gamma: Maximum absolute log-gamma of a random gamma curve (0 disables).
        noise_std: Maximum standard deviation of Gaussian noise added after normalisation.
        bias_field: Maximum coefficient of a smooth multiplicative bias field (0 disables).
    """

    rotation_deg: float = 0.0
    scale: float = 0.0
    translation_mm: float = 0.0
    flip_lr_prob: float = 0.0
    lr_label_pairs: tuple[tuple[int, int], ...] = ()
    gamma: float = 0.0
    noise_std: float = 0.0
    bias_field: float = 0.0

    @property
    def spatial(self) -> bool:
        """Whether any random spatial transform is configured."""
        return bool(self.rotation_deg or self.scale or self.translation_mm or self.flip_lr_prob)


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that turns a scan into a model input, as plain data.

    Args:
        spacing: Target voxel size in mm, ``(3,)``.
        shape: Target grid shape ``(X, Y, Z)``.
        interpolation: Image interpolation: ``linear`` or ``cubic`` (B-spline, as scipy order 3).
        label_interpolation: ``nearest`` or ``linear`` (one-hot, then argmax).
        centre: ``scan`` (centre of the scan's voxel grid), ``mask`` (brain-mask centroid) or
            ``mask_box`` (centre of the brain mask's bounding box).
        centre_convention: ``geometric`` or ``half_shape`` (see :mod:`brainmri.core.geometry`).
        apply_mask: Multiply the scan by its brain mask before resampling (brain-only input).
        zscore_region: Voxels whose mean/std normalise the image: ``foreground`` (above the
            image's mean: robust to background noise and interpolation ringing), ``nonzero``
            (> 0 after resampling, as VT1), ``mask`` (inside the resampled brain mask) or ``all``.
        clip_percentiles: Clip intensities to these percentiles of the z-score region first.
        augment: Augmentation used when the pipeline is called with ``augment=True``.
    """

    spacing: tuple[float, float, float] = (2.0, 2.0, 2.0)
    shape: tuple[int, int, int] = (128, 128, 128)
    interpolation: str = "linear"
    label_interpolation: str = "nearest"
    centre: str = "scan"
    centre_convention: str = "geometric"
    apply_mask: bool = False
    zscore_region: str = "foreground"
    clip_percentiles: tuple[float, float] | None = (0.5, 99.5)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spacing", as_triple(self.spacing, float))
        object.__setattr__(self, "shape", as_triple(self.shape, int))
        if isinstance(self.augment, dict):
            object.__setattr__(self, "augment", _augment_from_dict(self.augment))
        if self.clip_percentiles is not None:
            object.__setattr__(self, "clip_percentiles", tuple(float(p) for p in self.clip_percentiles))
        checks = {
            "interpolation": (self.interpolation, ("linear", "cubic")),
            "label_interpolation": (self.label_interpolation, ("nearest", "linear")),
            "centre": (self.centre, CENTRES),
            "centre_convention": (self.centre_convention, CENTRE_CONVENTIONS),
            "zscore_region": (self.zscore_region, ("foreground", "nonzero", "mask", "all")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        assert self.interpolation in MODES
        if min(self.spacing) <= 0 or min(self.shape) < 1:
            raise ValueError(f"spacing and shape must be positive, got {self.spacing}, {self.shape}")

    @property
    def needs_mask(self) -> bool:
        """Whether each sample must come with a brain mask."""
        return self.apply_mask or self.centre != "scan" or self.zscore_region == "mask"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples become lists)."""
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error."""
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown pipeline config keys: {sorted(unknown)}")
        if "augment" in data:
            data["augment"] = _augment_from_dict(data["augment"])
        return cls(**data)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> PipelineConfig:
        """A named configuration (see :data:`PRESETS`) with optional overrides."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        return replace(PRESETS[name], **overrides)


def _augment_from_dict(data) -> AugmentConfig:
    if isinstance(data, AugmentConfig):
        return data
    data = dict(data)
    data["lr_label_pairs"] = tuple(tuple(int(v) for v in p) for p in data.get("lr_label_pairs", ()))
    return AugmentConfig(**data)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


#: Named configurations. ``vt1`` reproduces the reference project's preprocessing:
#: world-aligned 2 mm grid of 128^3 placed with the half-shape convention, one cubic
#: B-spline resample, z-score over voxels > 0, rotations +-5 deg and shifts +-7 mm.
PRESETS: dict[str, PipelineConfig] = {
    "default": PipelineConfig(
        augment=AugmentConfig(rotation_deg=10.0, scale=0.05, translation_mm=5.0, gamma=0.2, noise_std=0.05,
                              bias_field=0.2),
    ),
    "vt1": PipelineConfig(
        interpolation="cubic",
        centre_convention="half_shape",
        zscore_region="nonzero",
        clip_percentiles=None,
        augment=AugmentConfig(rotation_deg=5.0, translation_mm=7.0),
    ),
}
