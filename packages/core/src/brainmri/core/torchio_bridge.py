"""Interoperability with TorchIO: images and subjects both ways, and the fused pipeline as a transform.

Needs ``pip install brainmri-core[torchio]``. The name says what it is: a bridge to the
``torchio`` package, not a copy of it.

- :func:`to_torchio` / :func:`from_torchio`: a :class:`~brainmri.core.volume.Volume` as a
  ``tio.ScalarImage`` or ``tio.LabelMap`` and back, voxel values and the float64 affine kept
  exactly (RAS, LIA, oblique alike: neither side reorients).
- :func:`to_subject` / :func:`sample_from_subject`: a scan with its mask and labels as a
  ``tio.Subject``, and a subject as the pipeline's :class:`~brainmri.core.pipeline.Sample`.
- :class:`FusedPipeline`: brainmri's one-resample pipeline as a ``tio.Transform`` for a
  user's own ``tio.Compose``. It records a :class:`FusedResample` in the subject's history,
  so ``subject.apply_inverse_transform()`` maps its outputs back onto the native grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .pipeline import GridBatch, Pipeline, PipelineConfig, Sample
from .pipeline.spatial import sample_matrices
from .volume import Volume

try:
    import torchio as tio
except ImportError:  # pragma: no cover - the message is the point
    raise ImportError("brainmri.core.torchio_bridge needs torchio: pip install 'brainmri-core[torchio]'") from None

#: Subject keys :func:`to_subject` writes and :func:`sample_from_subject` reads by default.
IMAGE_KEY, MASK_KEY, LABELS_KEY = "image", "mask", "labels"


def to_torchio(volume: Volume, label: bool = False):
    """A Volume as a TorchIO image on the same grid.

    Args:
        volume: The scan (data ``(X, Y, Z)`` or ``(X, Y, Z, C)``).
        label: Make a ``tio.LabelMap`` (nearest-neighbour in TorchIO's spatial transforms)
            instead of a ``tio.ScalarImage``.

    Returns:
        The image, tensor ``(C, X, Y, Z)``, affine the Volume's float64 affine. Values are kept;
        TorchIO stores uint16/uint32 as int32/int64 and bool as uint8 (torch has no unsigned).
    """
    data = np.asarray(volume.data)
    data = data[None] if data.ndim == 3 else np.moveaxis(data, -1, 0)
    cls = tio.LabelMap if label else tio.ScalarImage
    image = cls(tensor=np.ascontiguousarray(data), affine=np.array(volume.affine, dtype=np.float64))
    if volume.path is not None:
        image["brainmri_path"] = str(volume.path)  # kept for error messages; TorchIO ignores it
    return image


def from_torchio(image) -> Volume:
    """A TorchIO image as a Volume (data and affine as TorchIO holds them).

    A file-backed image not loaded yet is read with brainmri's loader, so its affine is the
    one nibabel gives every other brainmri command.

    Args:
        image: A ``tio.Image``; one channel gives data ``(X, Y, Z)``, more give ``(X, Y, Z, C)``.
    """
    from pathlib import Path

    path = image.get("brainmri_path") or (str(image.path) if isinstance(image.path, Path) else None)
    if not isinstance(image.get("data"), torch.Tensor) and path and Path(path).is_file():
        from .io import load_volume

        return load_volume(path)
    data = image.data.numpy()
    data = data[0] if data.shape[0] == 1 else np.moveaxis(data, 0, -1)
    return Volume(data, np.array(image.affine, dtype=np.float64), path)


def to_subject(volume: Volume, mask: Volume | None = None, labels: Volume | None = None, **attributes: Any):
    """A scan, its optional brain mask and label map as a ``tio.Subject``.

    Args:
        volume: The scan, stored under ``"image"``.
        mask: Brain mask on the scan's grid, a LabelMap under ``"mask"``.
        labels: Label map on the scan's grid, a LabelMap under ``"labels"``.
        **attributes: Other subject fields (``age=63.2``, ``sex=1``, ``subject_id=...``).
    """
    images = {IMAGE_KEY: to_torchio(volume)}
    if mask is not None:
        images[MASK_KEY] = to_torchio(mask, label=True)
    if labels is not None:
        images[LABELS_KEY] = to_torchio(labels, label=True)
    return tio.Subject(**images, **attributes)


def sample_from_subject(
    subject, image_key: str = IMAGE_KEY, mask_key: str | None = MASK_KEY, labels_key: str | None = LABELS_KEY
) -> Sample:
    """A ``tio.Subject`` as the pipeline's native-grid :class:`~brainmri.core.pipeline.Sample`.

    Args:
        subject: The subject; ``mask_key``/``labels_key`` images are used when present.
        image_key: Its scan.
        mask_key, labels_key: Its brain mask and label map (None: not used).
    """
    image = from_torchio(subject[image_key])
    mask = from_torchio(subject[mask_key]) if mask_key and mask_key in subject else None
    labels = from_torchio(subject[labels_key]) if labels_key and labels_key in subject else None
    sample = Sample.from_volume(image, mask, labels)
    if "subject_id" in subject:
        sample.meta["subject_id"] = str(subject["subject_id"])
    return sample


def _config(config: PipelineConfig | dict | str) -> PipelineConfig:
    if isinstance(config, PipelineConfig):
        return config
    if isinstance(config, str):
        return PipelineConfig.preset(config)
    return PipelineConfig.from_dict(config)


class FusedPipeline(tio.transforms.augmentation.RandomTransform):
    """brainmri's fused one-resample pipeline as a TorchIO transform.

    Reorientation, spacing, centring and (with ``augment``) random rotation, scaling,
    translation and flip are one matrix and one interpolation; intensity clipping, z-score
    and intensity augmentation follow (:class:`~brainmri.core.pipeline.Pipeline`). Every
    image of the subject must share the grid of the scan (``image_key``): scalar images are
    interpolated as the pipeline's images, label maps as its labels (a left-right flip swaps
    the configured label pairs), the ``mask_key`` label map as its brain mask.

    The output tensors equal the pipeline's own for the same seed. The applied
    :class:`FusedResample` (with the drawn seed and the native grid) is what the subject's
    history records, so ``subject.apply_inverse_transform()`` brings the images back onto
    the native grid (intensities stay normalised: TorchIO does not invert intensity steps).

    Args:
        config: A :class:`~brainmri.core.pipeline.PipelineConfig`, its ``to_dict()``, or a
            preset name (``default``, ``vt1``).
        augment: Apply the configuration's random augmentation.
        seed: Seed of the augmentation; None draws one from torch's generator, so
            ``torch.manual_seed`` (TorchIO's way) makes a ``tio.Compose`` reproducible.
        image_key: The scan whose grid is resampled (default: the first scalar image).
        mask_key: Label map used as the brain mask, when present.
        device: Where the resample runs (``cpu``, ``cuda``...).
        **kwargs: ``tio.Transform`` arguments (``p``, ``include``, ``exclude``...).
    """

    def __init__(
        self,
        config: PipelineConfig | dict | str = "default",
        augment: bool = False,
        seed: int | None = None,
        image_key: str | None = None,
        mask_key: str | None = MASK_KEY,
        device: str = "cpu",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.config = _config(config).to_dict()
        self.augment = bool(augment)
        self.seed = seed
        self.image_key = image_key
        self.mask_key = mask_key
        self.device = str(device)
        self.args_names = ["config", "augment", "seed", "image_key", "mask_key", "device"]

    def apply_transform(self, subject):
        seed = self.seed if self.seed is not None else self._get_random_seed()
        images = subject.get_images_dict(intensity_only=False, include=self.include, exclude=self.exclude)
        key = self.image_key or next((k for k, im in images.items() if isinstance(im, tio.ScalarImage)), None)
        if key is None or key not in subject:
            raise ValueError(f"FusedPipeline: no scalar image {self.image_key or ''} in the subject")
        reference = subject[key]
        mask = subject[self.mask_key] if self.mask_key and self.mask_key in subject else None
        sample = Sample(reference.data[0].numpy(), reference.affine, None if mask is None else mask.data[0].numpy())
        config = PipelineConfig.from_dict(self.config)
        _, matrices, _ = sample_matrices([sample], config, self.augment, np.random.default_rng(seed))
        resample = FusedResample(
            self.config,
            self.augment,
            seed,
            key,
            self.mask_key,
            self.device,
            native_shape=list(reference.spatial_shape),
            native_affine=reference.affine.tolist(),
            matrix=matrices[0].tolist(),
            **{**self._get_base_args(), "copy": False},
        )
        return resample(subject)


class FusedResample(tio.Transform):
    """The deterministic step :class:`FusedPipeline` applies and records (invertible).

    Args:
        config, augment, seed, image_key, mask_key, device: As :class:`FusedPipeline`.
        native_shape: The scan's native shape ``(X, Y, Z)`` (where the inverse goes).
        native_affine: The scan's native ``(4, 4)`` affine.
        matrix: ``(4, 4)`` grid voxel -> native voxel map of the forward resample.
        **kwargs: ``tio.Transform`` arguments.
    """

    def __init__(
        self,
        config: dict,
        augment: bool,
        seed: int,
        image_key: str,
        mask_key: str | None,
        device: str,
        native_shape,
        native_affine,
        matrix,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.config, self.augment, self.seed = config, bool(augment), int(seed)
        self.image_key, self.mask_key, self.device = image_key, mask_key, device
        self.native_shape = [int(s) for s in native_shape]
        self.native_affine = np.asarray(native_affine, dtype=np.float64).tolist()
        self.matrix = np.asarray(matrix, dtype=np.float64).tolist()
        self.invert_transform = False
        self.args_names = [
            "config",
            "augment",
            "seed",
            "image_key",
            "mask_key",
            "device",
            "native_shape",
            "native_affine",
            "matrix",
        ]

    def apply_transform(self, subject):
        images = subject.get_images_dict(intensity_only=False, include=self.include, exclude=self.exclude)
        if self.invert_transform:
            return self._to_native(subject, images)
        reference = subject[self.image_key]
        for name, image in images.items():
            if image.spatial_shape != reference.spatial_shape or not np.allclose(
                image.affine, reference.affine, atol=1e-3
            ):
                raise ValueError(f"FusedPipeline: image {name!r} is not on the grid of {self.image_key!r}")
            if image.data.shape[0] != 1:
                raise ValueError(f"FusedPipeline: image {name!r} has {image.data.shape[0]} channels; give one")
        pipeline = Pipeline(PipelineConfig.from_dict(self.config), device=self.device)
        mask = subject[self.mask_key] if self.mask_key and self.mask_key in subject else None
        mask_data = None if mask is None else mask.data[0].numpy()

        def run(data, labels=None) -> GridBatch:
            return pipeline([Sample(data, reference.affine, mask_data, labels)], augment=self.augment, rng=self.seed)

        label_maps = [n for n, im in images.items() if not isinstance(im, tio.ScalarImage) and n != self.mask_key]
        outputs: dict[str, tuple[torch.Tensor, np.ndarray]] = {}
        reference_data = reference.data[0].numpy()
        for name, image in images.items():
            if isinstance(image, tio.ScalarImage):
                batch = run(image.data[0].numpy())
                outputs[name] = batch.image[0].cpu(), batch.affine[0]
                if mask is not None and self.mask_key in images:
                    outputs[self.mask_key] = batch.mask[0].cpu().to(mask.data.dtype), batch.affine[0]
        for name in label_maps:
            batch = run(reference_data, images[name].data[0].numpy())
            outputs[name] = batch.labels[0].cpu(), batch.affine[0]
        for name, (data, affine) in outputs.items():
            images[name].set_data(data)
            images[name].affine = affine
        return subject

    def _to_native(self, subject, images):
        pipeline = Pipeline(PipelineConfig.from_dict(self.config), device=self.device)
        batch = GridBatch(
            image=torch.empty(0),
            affine=np.empty((1, 4, 4)),
            matrix=np.asarray([self.matrix]),
            native_shapes=[tuple(self.native_shape)],
            native_affines=np.asarray([self.native_affine]),
        )
        for image in images.values():
            label = not isinstance(image, tio.ScalarImage)
            native = pipeline.to_native(image.data[None].to(pipeline.device), batch, "nearest" if label else "linear")
            data = native[0].cpu()
            image.set_data(data.round().to(image.data.dtype) if label else data)
            image.affine = np.asarray(self.native_affine)
        return subject


__all__ = [
    "IMAGE_KEY",
    "LABELS_KEY",
    "MASK_KEY",
    "FusedPipeline",
    "FusedResample",
    "from_torchio",
    "sample_from_subject",
    "to_subject",
    "to_torchio",
]
