"""Batched intensity steps on the target grid: region masks, clipping, z-score, augmentation.

All functions take and return ``(B, 1, X, Y, Z)`` tensors and run on the batch's device.
"""

from __future__ import annotations

import numpy as np
import torch


def region_mask(image: torch.Tensor, mask: torch.Tensor | None, region: str) -> torch.Tensor:
    """Boolean ``(B, 1, X, Y, Z)`` of the voxels whose statistics normalise each image."""
    if region == "foreground":
        dims = tuple(range(1, image.ndim))
        return image > image.mean(dim=dims, keepdim=True)
    if region == "nonzero":
        return image > 0
    if region == "mask":
        if mask is None:
            raise ValueError("zscore_region='mask' needs brain masks")
        return mask > 0.5
    if region == "all":
        return torch.ones_like(image, dtype=torch.bool)
    raise ValueError(f"unknown region {region!r}")


def clip_percentiles(image: torch.Tensor, region: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Clip each image to the ``low``/``high`` percentiles of its region's values."""
    out = image.clone()
    for b in range(image.shape[0]):
        values = image[b][region[b]]
        if values.numel() < 2:
            continue
        n = values.numel()
        lo = values.kthvalue(max(1, int(round(low / 100.0 * (n - 1))) + 1)).values
        hi = values.kthvalue(max(1, int(round(high / 100.0 * (n - 1))) + 1)).values
        out[b] = image[b].clamp(lo, hi)
    return out


def zscore(image: torch.Tensor, region: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Subtract each image's region mean and divide by its region std (population std)."""
    r = region.to(image.dtype)
    dims = tuple(range(1, image.ndim))
    n = r.sum(dim=dims, keepdim=True).clamp_min(1.0)
    mean = (image * r).sum(dim=dims, keepdim=True) / n
    var = (((image - mean) * r) ** 2).sum(dim=dims, keepdim=True) / n
    return (image - mean) / (var.sqrt() + eps)


def random_gamma(image: torch.Tensor, max_log_gamma: float, rng: np.random.Generator) -> torch.Tensor:
    """Apply ``x -> x^gamma`` on each image's [min, max] range, ``log(gamma) ~ U(-g, g)``."""
    out = torch.empty_like(image)
    for b in range(image.shape[0]):
        x = image[b]
        lo, hi = x.min(), x.max()
        span = (hi - lo).clamp_min(1e-8)
        gamma = float(np.exp(rng.uniform(-max_log_gamma, max_log_gamma)))
        out[b] = ((x - lo) / span) ** gamma * span + lo
    return out


def random_bias_field(image: torch.Tensor, max_coefficient: float, rng: np.random.Generator) -> torch.Tensor:
    """Multiply each image by ``exp(p)``, ``p`` a random 2nd-order polynomial of position."""
    b = image.shape[0]
    sizes = image.shape[2:]
    axes = [torch.linspace(-1.0, 1.0, s, device=image.device, dtype=image.dtype) for s in sizes]
    x = axes[0].view(1, -1, 1, 1)
    y = axes[1].view(1, 1, -1, 1)
    z = axes[2].view(1, 1, 1, -1)
    terms = [x, y, z, x * x, y * y, z * z, x * y, x * z, y * z]
    coeffs = torch.as_tensor(
        rng.uniform(-max_coefficient, max_coefficient, size=(b, len(terms))), device=image.device, dtype=image.dtype
    )
    log_field = sum(coeffs[:, i].view(b, 1, 1, 1) * t for i, t in enumerate(terms))
    return image * torch.exp(log_field)[:, None]


def random_noise(image: torch.Tensor, max_std: float, rng: np.random.Generator) -> torch.Tensor:
    """Add Gaussian noise with a per-image std drawn from ``U(0, max_std)``."""
    gen = torch.Generator(device=image.device)
    gen.manual_seed(int(rng.integers(0, 2**31 - 1)))
    std = torch.as_tensor(rng.uniform(0.0, max_std, size=image.shape[0]), device=image.device, dtype=image.dtype)
    noise = torch.randn(image.shape, generator=gen, device=image.device, dtype=image.dtype)
    return image + noise * std.view(-1, *([1] * (image.ndim - 1)))
