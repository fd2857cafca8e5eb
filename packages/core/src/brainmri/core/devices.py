"""Choosing the torch device (``auto`` picks CUDA when present) and its mixed precision."""

from __future__ import annotations

import contextlib

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


def autocast_context(device: torch.device, amp: str = "auto"):
    """bf16 autocast on CUDA (``auto`` or ``bf16``); nothing on CPU or with ``off``.

    Args:
        device: Where the forward pass runs.
        amp: ``auto`` (bf16 on CUDA only), ``bf16`` or ``off``.

    Raises:
        ValueError: Another ``amp``.
    """
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return contextlib.nullcontext()
    if amp not in ("auto", "bf16"):
        raise ValueError(f"amp must be auto, bf16 or off, got {amp!r}")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
