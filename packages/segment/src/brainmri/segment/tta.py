"""Mirroring test-time augmentation with the left/right label swap for the x flip."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch

from .labels import HIPPOCAMPUS_LR_PAIRS

#: ``--tta`` choices: no mirroring, the left-right mirror only, or all 8 axis combinations.
TTA_MODES = ("none", "flip-x", "all")


def mirror_axes(mode: str) -> list[tuple[int, ...]]:
    """Spatial axes (0 = x, 1 = y, 2 = z) flipped by each pass of a TTA mode (``()`` = as is)."""
    if mode == "none":
        return [()]
    if mode == "flip-x":
        return [(), (0,)]
    if mode == "all":
        return [c for n in range(4) for c in itertools.combinations(range(3), n)]
    raise ValueError(f"tta must be one of {TTA_MODES}, got {mode!r}")


def swap_channels(tensor: torch.Tensor, pairs: Sequence[Sequence[int]]) -> torch.Tensor:
    """``(B, K, ...)`` with the channels of each pair exchanged (e.g. left and right labels)."""
    if not pairs:
        return tensor
    order = list(range(tensor.shape[1]))
    for a, b in pairs:
        order[a], order[b] = order[b], order[a]
    return tensor[:, order]


def mirror_tta(
    predictor: Callable[[torch.Tensor], torch.Tensor],
    mode: str = "flip-x",
    lr_pairs: Sequence[Sequence[int]] = HIPPOCAMPUS_LR_PAIRS,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A predictor that averages ``predictor`` over mirrored copies of its input.

    Each pass flips the window along some spatial axes, predicts, flips the output back and,
    when the x (left-right) axis was flipped, swaps the channels of ``lr_pairs``: a mirrored
    left hippocampus looks like a right one, so the network calls it "right".

    Args:
        predictor: ``(n, C, X, Y, Z) -> (n, K, X', Y', Z')`` (probabilities); the output must be
            centred on the input (unpadded networks crop symmetrically).
        mode: ``none``, ``flip-x`` or ``all`` (8 passes).
        lr_pairs: Channel pairs swapped by an x flip (``()`` for labels without sides).
    """
    passes = mirror_axes(mode)
    if passes == [()]:
        return predictor

    def wrapped(x: torch.Tensor) -> torch.Tensor:
        total = None
        for axes in passes:
            dims = [2 + a for a in axes]
            out = predictor(x.flip(dims) if dims else x)
            if dims:
                out = out.flip(dims)
                if 0 in axes:
                    out = swap_channels(out, lr_pairs)
            total = out.float() if total is None else total + out
        return total / len(passes)

    return wrapped
