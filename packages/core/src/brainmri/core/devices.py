"""Choosing the torch device: ``auto`` picks CUDA when present."""

from __future__ import annotations

import torch

from .errors import BrainmriError


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:N`` into a :class:`torch.device`.

    Raises:
        BrainmriError: CUDA was asked for on a machine without it.
    """
    if isinstance(device, torch.device):
        return device
    name = (device or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BrainmriError(f"device {name!r} requested but CUDA is not available on this machine")
    return dev
