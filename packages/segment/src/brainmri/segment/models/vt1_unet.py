"""The reference project's (VT1) 3D U-Net: unpadded convolutions (the output is smaller), or padded."""

from __future__ import annotations

import torch
from torch import nn

#: Normalisation variants of the reference network.
NORMS = ("none", "batch", "instance")
#: Convolution padding: ``valid`` (the reference: no padding, the output is the input's centre)
#: or ``same`` (zero padding, the output has the input's size, as nnU-Net's).
PADDINGS = ("valid", "same")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm3d(channels)
    if kind == "instance":
        return nn.InstanceNorm3d(channels, affine=True)
    return nn.Identity()


class _DoubleConv(nn.Sequential):
    """Two 3x3x3 convolutions, each followed by the normalisation and ReLU (-4 voxels unpadded)."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, pad: int = 0):
        bias = norm == "none"
        inplace = norm != "instance"  # InstanceNorm3d returns a view: in place, autograd copies it back
        super().__init__(
            nn.Conv3d(in_channels, out_channels, 3, padding=pad, bias=bias),
            _norm(norm, out_channels),
            nn.ReLU(inplace=inplace),
            nn.Conv3d(out_channels, out_channels, 3, padding=pad, bias=bias),
            _norm(norm, out_channels),
            nn.ReLU(inplace=inplace),
        )


def _centre_crop(x: torch.Tensor, shape) -> torch.Tensor:
    starts = [(s - t) // 2 for s, t in zip(x.shape[2:], shape)]
    return x[(..., *(slice(a, a + t) for a, t in zip(starts, shape)))]


class VT1UNet(nn.Module):
    """A 3D U-Net with unpadded ("valid") convolutions, after Cicek et al. 2016.

    Each resolution level has two 3x3x3 convolutions (each with the chosen
    normalisation and ReLU); levels are joined by 2x max pooling on the way down and 2x2x2
    transposed convolutions on the way up, with centre-cropped skip connections. Because no
    voxel is padded, each output voxel sees only real input: the output is the centre of the
    input, smaller by :attr:`margin` voxels on every side, and a sliding window over a large
    volume gives the same values as one pass over the whole volume (without InstanceNorm).

    Args:
        out_channels: Classes (3: background, left, right).
        in_channels: Input channels.
        base_filters: Channels of the first level (doubled at each level below).
        levels: Resolution levels (3: two poolings).
        norm: ``batch`` (default), ``none`` or ``instance`` (affine InstanceNorm3d). Without
            InstanceNorm the output of a voxel does not depend on the window it is computed in,
            so whole volumes can be run in large windows.
        padding: ``valid`` (the reference) or ``same``: zero-padded convolutions, output the
            input's size (margin 0; every size a multiple of ``2 ** (levels - 1)``), so a patch
            the size of a small crop trains on every voxel of it. Both have the same
            parameters: a checkpoint loads into either.

    Input ``(B, C, X, Y, Z)`` with every size in :meth:`valid_size`; output
    ``(B, out_channels, X - 2m, Y - 2m, Z - 2m)`` with ``m = margin``.
    """

    def __init__(
        self,
        out_channels: int = 3,
        in_channels: int = 1,
        base_filters: int = 32,
        levels: int = 3,
        norm: str = "batch",
        padding: str = "valid",
    ):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        if levels < 1:
            raise ValueError(f"levels must be at least 1, got {levels}")
        self.levels = int(levels)
        self.norm = norm
        self.padding = padding
        pad = 1 if padding == "same" else 0
        widths = [int(base_filters) * 2**i for i in range(levels)]
        self.down = nn.ModuleList()
        prev = in_channels
        for w in widths:
            self.down.append(_DoubleConv(prev, w, norm, pad))
            prev = w
        self.pool = nn.MaxPool3d(2)
        self.upconv = nn.ModuleList()
        self.up = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.upconv.append(nn.ConvTranspose3d(w * 2, w, kernel_size=2, stride=2))
            self.up.append(_DoubleConv(w * 2, w, norm, pad))
        self.head = nn.Conv3d(widths[0], out_channels, kernel_size=1)

    # Geometry ----------------------------------------------------------------------------
    def output_size(self, size: int) -> int:
        """Output length along one axis for an input of ``size`` voxels (raises if invalid)."""
        n = int(size)
        if self.padding == "same":
            step = 2 ** (self.levels - 1)
            if n <= 0 or n % step:
                raise ValueError(f"input size {size} is not valid for this U-Net; use valid_size({size})")
            return n
        for _ in range(self.levels - 1):
            n -= 4
            if n <= 0 or n % 2:
                raise ValueError(f"input size {size} is not valid for this U-Net; use valid_size({size})")
            n //= 2
        n -= 4
        for _ in range(self.levels - 1):
            n = 2 * n - 4
        if n <= 0:
            raise ValueError(f"input size {size} is too small for this U-Net; use valid_size({size})")
        return n

    @property
    def margin(self) -> int:
        """Voxels lost on each side: ``(input - output) / 2`` (20 for 3 unpadded levels, 0 padded)."""
        size = self.valid_size(1)
        return (size - self.output_size(size)) // 2

    def valid_size(self, size: int) -> int:
        """The smallest valid input length whose output covers at least ``size`` - 2 * margin,
        i.e. the smallest valid input length >= ``size``."""
        n = max(int(size), 1)
        if self.padding == "same":
            step = 2 ** (self.levels - 1)
            return -(-n // step) * step
        while True:
            try:
                self.output_size(n)
                return n
            except ValueError:
                n += 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.levels - 1:
                skips.append(x)
                x = self.pool(x)
        for upconv, block, skip in zip(self.upconv, self.up, reversed(skips)):
            x = upconv(x)
            x = block(torch.cat([_centre_crop(skip, x.shape[2:]), x], dim=1))
        return self.head(x)
