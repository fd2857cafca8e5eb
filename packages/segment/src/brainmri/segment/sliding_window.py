"""Sliding-window inference over a whole volume with Gaussian blending.

Window placement, the Gaussian importance map and the blending follow MONAI's
``sliding_window_inference(mode="gaussian")`` exactly, so both give the same output for a
network with padded convolutions. Networks with unpadded convolutions (``margin`` voxels
lost per side) are handled in output space: the output tiles of size ``roi - 2 * margin``
are laid out over the volume's interior exactly as MONAI lays out windows, and each is
predicted from the input window around it.

Differences from MONAI that do not change the result: the weight normaliser is built from
the window positions once, the windows of a batch are gathered without extra copies, and
the output is accumulated in place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from brainmri.core.geometry import as_triple


def gaussian_importance_map(
    size: Sequence[int], sigma_scale: float | Sequence[float] = 0.125, device=None
) -> torch.Tensor:
    """Gaussian weights of one output tile, ``(X, Y, Z)`` float32.

    ``exp(-d^2 / (2 sigma^2))`` per axis with ``d`` the distance from the tile centre
    ``(n - 1) / 2`` and ``sigma = sigma_scale * n``; the product over axes is clamped below
    at ``max(min, 1e-3)`` so edge voxels keep some weight (as MONAI).
    """
    size = tuple(int(s) for s in size)
    scales = as_triple(sigma_scale, float)
    weights = None
    for i, (n, s) in enumerate(zip(size, scales)):
        x = torch.arange(start=-(n - 1) / 2.0, end=(n - 1) / 2.0 + 1, dtype=torch.float, device=device)
        x = torch.exp(x**2 / (-2 * (n * s) ** 2))
        weights = x if i == 0 else weights.unsqueeze(-1) * x[(None,) * i]
    floor = max(float(weights.min()), 1e-3)
    return weights.clamp_(min=floor)


def window_starts(size: int, roi: int, overlap: float) -> list[int]:
    """Start indices of the windows along one axis (MONAI's placement).

    The step is ``int(roi * (1 - overlap))`` (at least 1; ``roi`` when ``roi == size``); the
    last window is shifted back to end at the border.
    """
    if roi >= size:
        return [0]
    step = max(int(roi * (1 - overlap)), 1)
    count = next(d for d in range(math.ceil(size / step)) if d * step + roi >= size) + 1
    return [min(d * step, size - roi) for d in range(count)]


def sliding_window_inference(
    image: torch.Tensor,
    predictor: Callable[[torch.Tensor], torch.Tensor],
    roi_size: int | Sequence[int],
    overlap: float = 0.5,
    sw_batch_size: int = 1,
    margin: int | Sequence[int] = 0,
    sigma_scale: float = 0.125,
    mode: str = "gaussian",
    cval: float = 0.0,
    out_device: torch.device | str | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Blend a predictor's outputs over overlapping windows of a volume.

    Args:
        image: ``(1, C, X, Y, Z)`` or ``(C, X, Y, Z)`` input; with ``margin > 0`` it must
            already include the margin (the output is the interior).
        predictor: Maps ``(n, C, *roi_size)`` windows to ``(n, K, *(roi_size - 2 * margin))``
            (e.g. softmax of a network).
        roi_size: Input window size.
        overlap: Fraction of a tile shared with its neighbour, ``0 <= overlap < 1``.
        sw_batch_size: Windows per predictor call.
        margin: Voxels per side the predictor loses (unpadded networks); 0 for padded ones.
        sigma_scale: Gaussian sigma as a fraction of the tile size.
        mode: ``gaussian`` or ``constant`` (plain average).
        cval: Fill value where the image is smaller than a window.
        out_device: Where the blended output is accumulated (default: the image's device).
        progress: A progress bar over window batches (stderr).

    Returns:
        ``(1, K, X - 2m, Y - 2m, Z - 2m)`` (``(K, ...)`` when ``image`` had no batch axis),
        float32 on ``out_device``.
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be >= 0 and < 1, got {overlap}")
    if mode not in ("gaussian", "constant"):
        raise ValueError(f"mode must be 'gaussian' or 'constant', got {mode!r}")
    unbatched = image.ndim == 4
    if unbatched:
        image = image[None]
    if image.ndim != 5 or image.shape[0] != 1:
        raise ValueError(f"image must be (1, C, X, Y, Z) or (C, X, Y, Z), got {tuple(image.shape)}")
    roi = as_triple(roi_size, int)
    margin = as_triple(margin, int)
    tile = tuple(r - 2 * m for r, m in zip(roi, margin))
    if min(tile) < 1:
        raise ValueError(f"window {roi} leaves no output with margin {margin}")
    out_device = torch.device(out_device) if out_device is not None else image.device

    # Output-space geometry; pad (as MONAI: half before, the rest after) where the volume's
    # interior is smaller than a tile.
    interior = [s - 2 * m for s, m in zip(image.shape[2:], margin)]
    pads = [(max(t - n, 0) // 2, max(t - n, 0) - max(t - n, 0) // 2) for t, n in zip(tile, interior)]
    if any(a or b for a, b in pads):
        flat = [v for a, b in reversed(pads) for v in (a, b)]
        image = F.pad(image, flat, mode="constant", value=cval)
        interior = [n + a + b for n, (a, b) in zip(interior, pads)]
    starts = [window_starts(n, t, overlap) for n, t in zip(interior, tile)]

    if mode == "gaussian":
        weight = gaussian_importance_map(tile, sigma_scale, device=image.device)
    else:
        weight = torch.ones(tile, device=image.device)
    # Normaliser: sum of the weights of every tile covering a voxel.
    norm = torch.zeros(interior, dtype=torch.float32, device=out_device)
    w_out = weight.to(out_device)
    positions = [(x, y, z) for x in starts[0] for y in starts[1] for z in starts[2]]
    for x, y, z in positions:
        norm[x : x + tile[0], y : y + tile[1], z : z + tile[2]] += w_out

    output = None
    from tqdm.auto import tqdm

    batches = range(0, len(positions), max(1, int(sw_batch_size)))
    for b in tqdm(batches, desc="sliding window", disable=not progress, leave=False, unit="batch"):
        chunk = positions[b : b + sw_batch_size]
        windows = [image[:, :, x : x + roi[0], y : y + roi[1], z : z + roi[2]] for x, y, z in chunk]
        batch = windows[0] if len(windows) == 1 else torch.cat(windows)
        pred = predictor(batch)
        if tuple(pred.shape[2:]) != tile:
            raise ValueError(f"predictor returned {tuple(pred.shape[2:])} for window {roi}; expected {tile}")
        pred = pred.float()
        pred = pred.mul_(weight) if not pred.requires_grad else pred * weight
        if pred.device != out_device:
            pred = pred.to(out_device)
        if output is None:
            output = torch.zeros((pred.shape[1], *interior), dtype=torch.float32, device=out_device)
        for p, (x, y, z) in zip(pred, chunk):
            output[:, x : x + tile[0], y : y + tile[1], z : z + tile[2]] += p
    output /= norm
    crop = tuple(slice(a, n - b) for (a, b), n in zip(pads, interior))
    output = output[(slice(None), *crop)]
    return output if unbatched else output[None]
