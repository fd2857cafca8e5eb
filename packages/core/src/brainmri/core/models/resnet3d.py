"""A 3D ResNet (basic residual blocks) for whole-volume classification and regression."""

from __future__ import annotations

import torch
from torch import nn


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm3d(channels)
    if kind == "instance":
        return nn.InstanceNorm3d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    raise ValueError(f"unknown norm {kind!r}; use batch, instance or group")


class BasicBlock3d(nn.Module):
    """Two 3x3x3 convolutions with a residual connection (projection when the shape changes)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, norm: str = "instance"):
        super().__init__()
        self.conv1 = nn.Conv3d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.norm1 = _norm(norm, out_ch)
        self.conv2 = nn.Conv3d(out_ch, out_ch, 3, padding=1, bias=False)
        self.norm2 = _norm(norm, out_ch)
        self.relu = nn.ReLU(inplace=norm != "instance")  # InstanceNorm3d returns a view: see VT1Net
        self.shortcut = (
            nn.Sequential(nn.Conv3d(in_ch, out_ch, 1, stride=stride, bias=False), _norm(norm, out_ch))
            if stride != 1 or in_ch != out_ch
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet3d(nn.Module):
    """3D ResNet: a strided stem, four stages of basic blocks, global pooling and a linear head.

    Args:
        out_features: Outputs of the head.
        layers: Blocks per stage; ``(1, 1, 1, 1)`` is ResNet-10, ``(2, 2, 2, 2)`` ResNet-18.
        width: Channels of the first stage (doubled at each later stage).
        norm: ``group`` (default; independent of the batch size and valid down to 1 voxel
            per channel), ``instance`` or ``batch``.
        dropout: Dropout before the head.
        in_channels: Input channels.

    Input ``(B, C, X, Y, Z)``; output ``(B, out_features)``.
    """

    def __init__(self, out_features: int = 2, layers=(1, 1, 1, 1), width: int = 16, norm: str = "group",
                 dropout: float = 0.2, in_channels: int = 1):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, width, 7, stride=2, padding=3, bias=False),
            _norm(norm, width),
            nn.ReLU(inplace=norm != "instance"),
            nn.MaxPool3d(3, stride=2, padding=1),
        )
        stages = []
        prev = width
        for i, n in enumerate(layers):
            ch = width * 2**i
            blocks = [BasicBlock3d(prev, ch, stride=1 if i == 0 else 2, norm=norm)]
            blocks += [BasicBlock3d(ch, ch, norm=norm) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            prev = ch
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(prev, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.dropout(torch.flatten(self.pool(x), 1)))
