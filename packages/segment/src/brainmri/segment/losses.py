"""Segmentation losses: soft Dice, cross-entropy, their sum, optional class weights.

Networks with unpadded convolutions return an output smaller than their input; the target
is centre-cropped to the output (:func:`centre_crop`) before any loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

#: Loss names (``--loss``).
LOSSES = ("dice", "ce", "dice_ce")


def centre_crop(tensor: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """The centre ``shape`` of the spatial axes of ``(B, C, X, Y, Z)`` (unchanged if equal)."""
    shape = tuple(int(s) for s in shape)
    if tuple(tensor.shape[2:]) == shape:
        return tensor
    starts = [(s - t) // 2 for s, t in zip(tensor.shape[2:], shape)]
    if any(a < 0 for a in starts):
        raise ValueError(f"cannot crop {tuple(tensor.shape[2:])} to the larger {shape}")
    return tensor[(..., *(slice(a, a + t) for a, t in zip(starts, shape)))]


def soft_dice_loss(
    probs: torch.Tensor,
    onehot: torch.Tensor,
    weights: torch.Tensor | None = None,
    include_background: bool = False,
    smooth: float = 1e-5,
) -> torch.Tensor:
    """``1 - `` mean soft Dice over classes, computed over the whole batch ("batch Dice").

    Args:
        probs: ``(B, K, X, Y, Z)`` class probabilities.
        onehot: ``(B, K, X, Y, Z)`` one-hot target.
        weights: ``(K,)`` class weights of the mean (default equal).
        include_background: Count class 0 too.
        smooth: Added to numerator and denominator (a class absent from the batch and the
            prediction scores 1).
    """
    dims = (0, *range(2, probs.ndim))
    inter = (probs * onehot).sum(dims)
    denom = probs.sum(dims) + onehot.sum(dims)
    score = (2.0 * inter + smooth) / (denom + smooth)
    first = 0 if include_background else 1
    score = score[first:]
    if weights is None:
        return 1.0 - score.mean()
    w = weights[first:].to(score)
    return 1.0 - (score * w).sum() / w.sum().clamp_min(1e-12)


def segmentation_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    kind: str = "dice_ce",
    class_weights: Sequence[float] | None = None,
    include_background: bool = False,
) -> torch.Tensor:
    """The training loss of a batch.

    Args:
        logits: ``(B, K, X', Y', Z')`` network output.
        target: ``(B, 1, X, Y, Z)`` or ``(B, X, Y, Z)`` integer labels; centre-cropped to the
            output when larger (unpadded networks).
        kind: ``dice``, ``ce`` or ``dice_ce`` (their sum).
        class_weights: ``(K,)`` weights of cross-entropy and of the Dice mean.
        include_background: Dice over class 0 too.

    Returns:
        Scalar loss.
    """
    if kind not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    if target.ndim == logits.ndim:
        target = target[:, 0]
    target = centre_crop(target[:, None], logits.shape[2:])[:, 0].long()
    weights = (
        None
        if class_weights is None
        else torch.as_tensor(class_weights, dtype=torch.float32, device=logits.device)
    )
    loss = logits.new_zeros(())
    if kind in ("ce", "dice_ce"):
        loss = loss + F.cross_entropy(logits.float(), target, weight=weights)
    if kind in ("dice", "dice_ce"):
        probs = torch.softmax(logits.float(), dim=1)
        onehot = F.one_hot(target, logits.shape[1]).movedim(-1, 1).to(probs.dtype)
        loss = loss + soft_dice_loss(probs, onehot, weights, include_background)
    return loss


def probability_loss(
    probs: torch.Tensor,
    target: torch.Tensor,
    kind: str = "dice_ce",
    class_weights: Sequence[float] | None = None,
    include_background: bool = False,
    eps: float = 1e-7,
) -> torch.Tensor:
    """The loss of :func:`segmentation_loss` from probabilities (e.g. blended whole volumes).

    Args:
        probs: ``(B, K, X, Y, Z)`` class probabilities.
        target: ``(B, 1, X, Y, Z)`` or ``(B, X, Y, Z)`` integer labels on the same grid.
        kind, class_weights, include_background: As :func:`segmentation_loss`.
        eps: Floor of the probabilities inside the logarithm.
    """
    if kind not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    if target.ndim == probs.ndim:
        target = target[:, 0]
    target = target.long()
    weights = (
        None
        if class_weights is None
        else torch.as_tensor(class_weights, dtype=torch.float32, device=probs.device)
    )
    loss = probs.new_zeros(())
    if kind in ("ce", "dice_ce"):
        loss = loss + F.nll_loss(torch.log(probs.float().clamp_min(eps)), target, weight=weights)
    if kind in ("dice", "dice_ce"):
        onehot = F.one_hot(target, probs.shape[1]).movedim(-1, 1).to(probs.dtype)
        loss = loss + soft_dice_loss(probs.float(), onehot.float(), weights, include_background)
    return loss
