"""SFCN: the Simple Fully Convolutional Network for brain age (Peng et al. 2021)."""

from __future__ import annotations

import torch
from torch import nn


class SFCN(nn.Module):
    """Lightweight fully convolutional 3D network (~3M parameters with the default widths).

    Five blocks Conv3d(3) -> BatchNorm -> MaxPool(2) -> ReLU, one Conv3d(1) -> BatchNorm ->
    ReLU block, then global average pooling, dropout and a 1x1x1 convolution as the head.
    Peng et al. average-pool over the fixed 5x6x5 map of 160x192x160 inputs; here the pooling
    is global so any input size works (identical for that input).

    Args:
        out_features: Outputs (age bins for the soft-label loss, 1 for direct regression,
            2 for sex logits).
        channels: Widths of the six blocks.
        dropout: Dropout before the head (0.5 in the paper).
        in_channels: Input channels.

    Input ``(B, C, X, Y, Z)``; output ``(B, out_features)`` raw scores (no log-softmax).
    """

    def __init__(self, out_features: int = 1, channels=(32, 64, 128, 256, 256, 64), dropout: float = 0.5,
                 in_channels: int = 1):
        super().__init__()
        blocks = []
        prev = in_channels
        for i, ch in enumerate(channels):
            last = i == len(channels) - 1
            layers = [nn.Conv3d(prev, ch, kernel_size=1 if last else 3, padding=0 if last else 1),
                      nn.BatchNorm3d(ch)]
            if not last:
                layers.append(nn.MaxPool3d(2))
            layers.append(nn.ReLU(inplace=True))
            blocks.append(nn.Sequential(*layers))
            prev = ch
        self.feature_extractor = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv3d(prev, out_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.feature_extractor(x))
        return torch.flatten(self.classifier(self.dropout(x)), 1)
