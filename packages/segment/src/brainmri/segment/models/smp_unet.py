"""U-Net from segmentation-models-pytorch-3d with a selectable encoder (no pretrained weights)."""

from __future__ import annotations

from torch import nn

#: Encoders offered on the command line (any smp-3d encoder name works from Python).
ENCODERS = ("resnet18", "resnet34", "efficientnet-b0", "densenet121")


def _import_smp():
    import warnings

    try:
        with warnings.catch_warnings():  # its dependencies warn at import (SyntaxWarning, jit deprecation)
            warnings.simplefilter("ignore")
            import segmentation_models_pytorch_3d as smp
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError(
            "the 'unet' architecture needs segmentation-models-pytorch-3d: "
            f"pip install segmentation-models-pytorch-3d ({exc})"
        ) from None
    return smp


class SMPUNet(nn.Module):
    """``segmentation_models_pytorch_3d.Unet`` with ``encoder_weights=None`` (nothing downloads).

    Padded convolutions: the output has the input's size (:attr:`margin` is 0); every input
    size must be a multiple of :meth:`divisor` (32 for the 5-stage encoders).

    Args:
        out_channels: Classes (3: background, left, right).
        in_channels: Input channels.
        encoder: Encoder name, e.g. one of :data:`ENCODERS`.
        decoder_channels: Channels of the five decoder stages.

    Input ``(B, C, X, Y, Z)``; output ``(B, out_channels, X, Y, Z)``.
    """

    margin = 0

    def __init__(
        self,
        out_channels: int = 3,
        in_channels: int = 1,
        encoder: str = "resnet18",
        decoder_channels=(256, 128, 64, 32, 16),
    ):
        super().__init__()
        smp = _import_smp()
        self.encoder_name = encoder
        try:
            self.net = smp.Unet(
                encoder_name=encoder,
                encoder_weights=None,
                in_channels=in_channels,
                classes=out_channels,
                decoder_channels=list(decoder_channels),
            )
        except KeyError as exc:
            raise ValueError(f"unknown encoder {encoder!r}; use e.g. one of {ENCODERS}") from exc

    @staticmethod
    def divisor() -> int:
        """Every input size must be a multiple of this (5 poolings)."""
        return 32

    def output_size(self, size: int) -> int:
        """Output length along one axis (the input's)."""
        return int(size)

    def valid_size(self, size: int) -> int:
        """The smallest multiple of :meth:`divisor` >= ``size``."""
        d = self.divisor()
        return max(d, -(-int(size) // d) * d)

    def forward(self, x):
        return self.net(x)
