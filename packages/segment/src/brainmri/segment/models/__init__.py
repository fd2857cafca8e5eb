"""Segmentation networks: the reference ``vt1-unet`` and smp-3d's ``unet`` (selectable encoder).

Every network has ``margin`` (voxels lost per side), ``output_size(n)`` and ``valid_size(n)``
so that patch sampling and the sliding window handle padded and unpadded networks alike.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .smp_unet import ENCODERS, SMPUNet
from .vt1_unet import NORMS, VT1UNet

#: ``--arch`` choices.
ARCHITECTURES = ("vt1-unet", "unet")


def build_segmentation_model(arch: str, out_channels: int = 3, **options: Any) -> nn.Module:
    """A segmentation network by name.

    Args:
        arch: ``vt1-unet`` (options ``base_filters``, ``levels``, ``norm``, ``padding``) or ``unet``
            (options ``encoder``, ``decoder_channels``).
        out_channels: Classes.
        **options: Keyword arguments of the class.

    Returns:
        The randomly initialised network (seed torch first for reproducibility).
    """
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    if arch == "vt1-unet":
        return VT1UNet(out_channels=out_channels, **options)
    if arch == "unet":
        return SMPUNet(out_channels=out_channels, **options)
    raise ValueError(f"unknown architecture {arch!r}; choose from {ARCHITECTURES}")


__all__ = ["ARCHITECTURES", "ENCODERS", "NORMS", "SMPUNet", "VT1UNet", "build_segmentation_model"]
