"""Test helpers: a synthetic scan with two blobs and a tiny network that only sees one of them.

Named uniquely (not ``conftest``) so the import is unambiguous when several packages' suites run together.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from brainmri.core.volume import Volume

#: The model grid: 32^3 voxels of 3 mm, world-aligned, centred on the scan.
GRID_SHAPE = (32, 32, 32)
GRID_SPACING = 3.0
#: World points (RAS mm) of the blob the network looks at and of an identical decoy.
BLOB = np.array([-16.0, 12.0, 6.0])
DECOY = np.array([18.0, -14.0, -10.0])
#: Half size (grid voxels) of the gate around BLOB.
GATE_HALF = 4


def blob_scan() -> Volume:
    """RAS scan, 2 mm voxels, (44, 48, 40): two equal Gaussian blobs on a faint noisy background."""
    shape = (44, 48, 40)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -2.0 * (np.asarray(shape) - 1) / 2.0 + np.array([1.0, -2.0, 3.0])
    ijk = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, 3)
    world = (ijk @ affine[:3, :3].T + affine[:3, 3]).reshape(*shape, 3)
    data = sum(np.exp(-((world - c) ** 2).sum(-1) / (2 * 5.0**2)) for c in (BLOB, DECOY)) * 1000.0
    data = data + np.random.default_rng(0).uniform(0, 20, size=shape)
    return Volume(data.astype(np.float32), affine)


def grid_affine_by_hand(volume: Volume) -> np.ndarray:
    """The model grid's affine computed here (not by the pipeline): RAS, centred on the scan."""
    centre = volume.affine @ np.array([*((np.asarray(volume.shape) - 1) / 2.0), 1.0])
    affine = np.diag([GRID_SPACING] * 3 + [1.0])
    affine[:3, 3] = centre[:3] - GRID_SPACING * (np.asarray(GRID_SHAPE) - 1) / 2.0
    return affine


def gate_box(grid_affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid-voxel box ``(lo, hi)`` (inclusive) around BLOB."""
    centre = np.rint((np.linalg.inv(grid_affine) @ np.array([*BLOB, 1.0]))[:3]).astype(int)
    return centre - GATE_HALF, centre + GATE_HALF


class GatedNet(nn.Module):
    """Sees only a box of its input grid: x * gate -> conv -> ReLU -> pool -> block -> ReLU -> GAP -> fc.

    Convolutions have no bias and positive weights, so features vanish where the gated input
    does; class 1's weights are positive, class 0's negative.
    """

    def __init__(self, lo, hi, shape=GRID_SHAPE):
        super().__init__()
        gate = torch.zeros(1, 1, *shape)
        gate[..., lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1] = 1.0
        self.register_buffer("gate", gate)
        gen = torch.Generator().manual_seed(0)
        self.conv = nn.Conv3d(1, 4, 3, padding=1, bias=False)
        self.block = nn.Sequential(nn.Conv3d(4, 8, 3, padding=1, bias=False), nn.ReLU(inplace=True))
        self.head = nn.Conv3d(8, 8, 1)  # after pooling: 1x1x1 output, never a Grad-CAM choice
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool3d(2)
        self.gap = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(8, 2)
        with torch.no_grad():
            self.conv.weight.copy_(torch.rand(self.conv.weight.shape, generator=gen) * 0.2)
            self.block[0].weight.copy_(torch.rand(self.block[0].weight.shape, generator=gen) * 0.2)
            self.head.weight.copy_(torch.eye(8).view(8, 8, 1, 1, 1))
            self.head.bias.zero_()
            w = torch.rand(8, generator=gen) + 0.5
            self.fc.weight.copy_(torch.stack([-w, w]))
            self.fc.bias.zero_()

    def forward(self, x):
        x = self.pool(self.relu(self.conv(x * self.gate)))
        x = self.head(self.gap(self.block(x)))
        return self.fc(torch.flatten(x, 1))
