"""TorchIO's MRI-artifact augmentations on the resampled training batch (``--mri-artifacts``).

Motion, ghosting, spikes, a bias field, blur and anisotropic resolution, each drawn with its
own probability (saved in config.json under ``train.mri_artifacts``). They run in training
only, after the fused resample and normalisation, on the image of each batch item and never
on its labels or mask. Motion and anisotropy move or smear the image slightly against its
labels; that is the artifact they simulate (the acquisition's fault, not the anatomy's), so
the labels stay as they are.

The draws come from the trainer's per-step generator, so a run is reproducible under its
seed. Needs ``pip install brainmri-core[torchio]``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

#: Probability of each artifact when ``--mri-artifacts`` is given (TorchIO's transform names).
DEFAULT_PROBABILITIES = {
    "bias_field": 0.3,
    "motion": 0.2,
    "ghosting": 0.2,
    "spike": 0.1,
    "blur": 0.2,
    "anisotropy": 0.2,
}

_CLASSES = {
    "bias_field": "RandomBiasField",
    "motion": "RandomMotion",
    "ghosting": "RandomGhosting",
    "spike": "RandomSpike",
    "blur": "RandomBlur",
    "anisotropy": "RandomAnisotropy",
}


def parse_artifacts(value) -> dict[str, float] | None:
    """The artifact probabilities a run stores: None (off), ``True`` (the defaults) or a mapping.

    Raises:
        ValueError: An unknown artifact name or a probability outside [0, 1].
    """
    if value is None or value is False:
        return None
    if value is True:
        return dict(DEFAULT_PROBABILITIES)
    if not isinstance(value, Mapping):
        raise ValueError(f"mri_artifacts must be true, false or name -> probability, got {value!r}")
    unknown = set(value) - set(_CLASSES)
    if unknown:
        raise ValueError(f"unknown MRI artifacts {sorted(unknown)}; use {', '.join(_CLASSES)}")
    out = {name: float(p) for name, p in value.items()}
    bad = {name: p for name, p in out.items() if not 0.0 <= p <= 1.0}
    if bad:
        raise ValueError(f"MRI artifact probabilities must lie in [0, 1], got {bad}")
    if out:
        import importlib.util

        if importlib.util.find_spec("torchio") is None:
            raise ValueError("MRI artifacts need torchio: pip install 'brainmri-core[torchio]'")
    return out or None


def _compose(probabilities: Mapping[str, float]):
    try:
        import torchio as tio
    except ImportError:
        raise ImportError("--mri-artifacts needs torchio: pip install 'brainmri-core[torchio]'") from None
    transforms = [getattr(tio, _CLASSES[name])(p=p) for name, p in probabilities.items() if p > 0]
    return tio, tio.Compose(transforms)


def apply_mri_artifacts(
    image: torch.Tensor, affines: np.ndarray, probabilities: Mapping[str, float], rng: np.random.Generator
) -> torch.Tensor:
    """Random MRI artifacts on each image of a batch (labels are not touched: they are not given).

    Each image is shifted to a zero minimum first (the background of a scan is dark, as the
    bias field and the k-space artifacts assume), transformed on the CPU by TorchIO in its
    grid's geometry (blur widths and motion in mm), and shifted back.

    Args:
        image: ``(B, 1, X, Y, Z)`` batch on any device.
        affines: ``(B, 4, 4)`` voxel-to-world affines of the batch's grids.
        probabilities: Artifact name -> probability (see :data:`DEFAULT_PROBABILITIES`).
        rng: The trainer's generator for this step; one seed per image is drawn from it.

    Returns:
        A new ``(B, 1, X, Y, Z)`` tensor, same device and dtype.
    """
    tio, transform = _compose(probabilities)
    out = torch.empty_like(image)
    seeds = rng.integers(0, 2**31 - 1, size=image.shape[0])
    for b in range(image.shape[0]):
        x = image[b].detach().to("cpu", torch.float32)
        low = x.min()
        subject = tio.Subject(image=tio.ScalarImage(tensor=x - low, affine=np.asarray(affines[b], dtype=np.float64)))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seeds[b]))
            done = transform(subject)["image"].data
        out[b] = (done.to(torch.float32) + low).to(image.device, image.dtype)
    return out
