"""Backbones shared by the classification and regression task packages.

``build_model(arch, out_features, **options)`` builds one by name; task packages record the
name and options in a run's ``config.json`` so the registry can rebuild the network.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .resnet3d import ResNet3d
from .sfcn import SFCN
from .vt1 import VT1Net, head_from_state_dict

#: Architecture names accepted by :func:`build_model` (``--arch``).
ARCHITECTURES = ("vt1", "resnet3d", "sfcn")


def build_model(arch: str, out_features: int, **options: Any) -> nn.Module:
    """A backbone with a head of ``out_features`` outputs.

    Args:
        arch: One of :data:`ARCHITECTURES`.
        out_features: Head size.
        **options: Keyword arguments of the architecture's class (e.g. ``head_key`` for vt1,
            ``width``/``layers`` for resnet3d, ``channels`` for sfcn, ``dropout`` for all).

    Returns:
        The network, randomly initialised (seed torch first for reproducibility).
    """
    classes = {"vt1": VT1Net, "resnet3d": ResNet3d, "sfcn": SFCN}
    if arch not in classes:
        raise ValueError(f"unknown architecture {arch!r}; choose from {ARCHITECTURES}")
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    return classes[arch](out_features=out_features, **options)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["ARCHITECTURES", "ResNet3d", "SFCN", "VT1Net", "build_model", "count_parameters", "head_from_state_dict"]
