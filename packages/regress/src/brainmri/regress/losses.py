"""Age-regression losses: L1 and MSE on standardised ages, and SFCN's soft-label KL loss."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

#: ``--loss`` choices.
LOSSES = ("l1", "mse", "soft")


def age_bins(ages, bin_width: float = 1.0, margin: float = 2.0) -> np.ndarray:
    """Centres of ``bin_width``-year bins spanning ``[min - margin, max + margin]`` of a cohort's ages."""
    ages = np.asarray(ages, dtype=np.float64)
    lo = math.floor(ages.min() - margin)
    hi = math.ceil(ages.max() + margin)
    n = max(2, int(math.ceil((hi - lo) / bin_width)))
    return lo + bin_width * (np.arange(n) + 0.5)


def soft_labels(age: torch.Tensor, centres: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Gaussian soft labels ``(B, K)``: probability of each bin for each age (Peng et al. 2021).

    The Gaussian ``N(age, sigma^2)`` is integrated over each bin (CDF differences at the bin
    edges) and renormalised over the bins.
    """
    width = float(centres[1] - centres[0])
    edges = torch.cat([centres - width / 2, centres[-1:] + width / 2]).to(age.dtype)
    cdf = 0.5 * (1 + torch.erf((edges[None, :] - age[:, None]) / (sigma * math.sqrt(2.0))))
    probs = (cdf[:, 1:] - cdf[:, :-1]).clamp_min(0)
    return probs / probs.sum(dim=1, keepdim=True).clamp_min(1e-12)


def soft_label_loss(logits: torch.Tensor, age: torch.Tensor, centres: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """KL divergence ``KL(soft_labels || softmax(logits))`` averaged over the batch."""
    target = soft_labels(age.to(torch.float64), centres.to(torch.float64), sigma).to(logits.dtype)
    return F.kl_div(F.log_softmax(logits, dim=1), target, reduction="batchmean")


def expected_age(logits: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Prediction of a soft-label network: the mean of its bin distribution, ``(B,)``."""
    return (torch.softmax(logits.float(), dim=1) * centres.to(logits.device, torch.float32)).sum(dim=1)
