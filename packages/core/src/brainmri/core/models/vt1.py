"""The reference project's (VT1) 4-block 3D CNN, state-dict compatible with its checkpoints."""

from __future__ import annotations

import torch
from torch import nn

#: Normalisation layers of :class:`VT1Net` by name.
NORMS = {"instance": lambda ch: nn.InstanceNorm3d(ch, affine=True), "batch": nn.BatchNorm3d}


class VT1Net(nn.Module):
    """Four Conv3d -> InstanceNorm3d -> ReLU -> MaxPool3d blocks, global pooling and a head.

    Channels 1 -> 16 -> 32 -> 64 -> 128; state-dict keys ``conv1..conv4``,
    ``instancenorm1..instancenorm4`` and the head, exactly as the reference checkpoints.

    Args:
        out_features: Outputs of the head (2 for sex logits, 1 for age).
        head: ``linear`` (one Linear(128, out)) or ``extended`` (Linear(128, 64) -> ReLU ->
            Dropout(0.2) -> Linear(64, out)).
        head_key: Name of the first head layer: ``fc`` (reference sex models) or ``fc1`` (age).
        dropout: Dropout before the head (0.3 in the reference).
        in_channels: Input channels.
        norm: ``instance`` (the reference's InstanceNorm3d, keys ``instancenorm1..4``) or
            ``batch`` (BatchNorm3d, keys ``batchnorm1..4``). Instance normalisation before the
            global average pool leaves the pooled features nearly scale-free (the mean of a
            ReLU'd standardised map), which compresses regression outputs towards the mean.

    Input ``(B, C, X, Y, Z)``; output ``(B, out_features)``.
    """

    channels = (16, 32, 64, 128)

    def __init__(self, out_features: int = 2, head: str = "linear", head_key: str = "fc", dropout: float = 0.3,
                 in_channels: int = 1, norm: str = "instance"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {tuple(NORMS)}, got {norm!r}")
        if head not in ("linear", "extended"):
            raise ValueError(f"head must be 'linear' or 'extended', got {head!r}")
        if head == "extended" and head_key != "fc1":
            raise ValueError("the extended head uses the keys fc1 and fc2 (head_key='fc1')")
        if head_key not in ("fc", "fc1"):
            raise ValueError(f"head_key must be 'fc' or 'fc1', got {head_key!r}")
        self.head_kind = head
        self.head_key = head_key
        self.norm_key = f"{norm}norm"
        prev = in_channels
        for i, ch in enumerate(self.channels, start=1):
            setattr(self, f"conv{i}", nn.Conv3d(prev, ch, kernel_size=3, padding=1))
            setattr(self, f"{self.norm_key}{i}", NORMS[norm](ch))
            prev = ch
        # Not in place: InstanceNorm3d returns a view, and an in-place ReLU on a view makes autograd
        # copy the whole gradient back through it (CopySlices): 13% of a CPU training step, same values.
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool3d(2)
        self.gap = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        if head == "linear":
            setattr(self, head_key, nn.Linear(prev, out_features))
        else:
            self.fc1 = nn.Linear(prev, 64)
            self.head_dropout = nn.Dropout(0.2)
            self.fc2 = nn.Linear(64, out_features)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(B, 128)``."""
        for i in range(1, 5):
            x = self.pool(self.relu(getattr(self, f"{self.norm_key}{i}")(getattr(self, f"conv{i}")(x))))
        return torch.flatten(self.gap(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.features(x))
        if self.head_kind == "linear":
            return getattr(self, self.head_key)(x)
        return self.fc2(self.head_dropout(self.relu(self.fc1(x))))

    @classmethod
    def from_state_dict(cls, state: dict, dropout: float = 0.3) -> VT1Net:
        """A network whose head matches a reference state dict, with the weights loaded strictly."""
        head_key, head, out = head_from_state_dict(state)
        norm = "batch" if "batchnorm1.weight" in state else "instance"
        model = cls(out_features=out, head=head, head_key=head_key, dropout=dropout, norm=norm)
        model.load_state_dict(state, strict=True)
        return model


def head_from_state_dict(state: dict) -> tuple[str, str, int]:
    """``(head_key, head, out_features)`` of a VT1 state dict (see the checkpoints' README)."""
    if "fc2.weight" in state:
        return "fc1", "extended", int(state["fc2.weight"].shape[0])
    for key in ("fc", "fc1"):
        if f"{key}.weight" in state:
            return key, "linear", int(state[f"{key}.weight"].shape[0])
    raise ValueError("not a VT1 state dict: no fc, fc1 or fc2 weights")
