"""deepbet (Fisch et al. 2024) on a :class:`~brainmri.core.Volume`, with world-coordinate geometry.

deepbet's own code takes ``nib.as_closest_canonical`` of the file (axis flips and swaps only),
resizes it (nearest-exact) to 128^3 for a first network that finds the brain's bounding box,
crops that box with a 10% margin per side, resizes the crop to 256^3 for the second network,
and resizes the brain probability back, thresholded at 0.5, keeping the largest component
with its holes filled. Intensities: clipped to the 0.5-99.5% quantiles of the 128^3 image,
scaled to 0-1, z-scored and mapped to mean 0.449, SD 0.226.

Here the same grids are defined as affines in world coordinates, never by moving arrays: the
128^3 grid tiles the scan's field of view in its closest-RAS voxel frame (voxel edge to voxel
edge; the frame of ``as_closest_canonical``, so the same head stored RAS, LIA or PSR gives the
same grids and the same mask), the 256^3 grid tiles the brain's box in that frame, and both are
sampled from the scan with nearest-neighbour lookups (the voxels deepbet's resize picks, so the
network sees what it was trained on; an oblique scan keeps its obliquity, as in deepbet, with no
empty corners). The probability comes back onto the scan's native grid by one linear
interpolation at its voxel centres; the mask keeps the scan's exact shape, affine and header.
"""

from __future__ import annotations

import time

import numpy as np

from ..volume import Volume

#: Grid of the bounding-box network (the whole field of view).
SMALL_SHAPE = (128, 128, 128)
#: Grid of the segmentation network (the brain's box).
SHAPE = (256, 256, 256)
#: Margin added on each side of the brain's box, as a fraction of its size.
BBOX_MARGIN = 0.1
#: Brain share of a slab above which the slab belongs to the box (deepbet's ``get_bbox``).
BBOX_LEVEL = 0.02
#: Intensity quantiles mapped to 0 and 1.
QUANTILES = (0.005, 0.995)
#: Brain probability above which a voxel is brain.
THRESHOLD = 0.5


def _normalise(x, low, high):
    """deepbet's ``normalize``: clip to ``[low, high]``, scale to 0-1, z-score, then mean 0.449, SD 0.226."""
    x = ((x - low) / (high - low).clamp_min(1e-12)).clamp(0, 1)
    return 0.226 * (x - x.mean()) / x.std().clamp_min(1e-12) + 0.449


def brain_box(mask_small: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box (``lo``, ``hi``) of the brain found on the 128^3 grid that tiles ``lo``-``hi``, with the
    margin, inside ``lo``-``hi`` (same units as ``lo`` and ``hi``)."""
    step = (hi - lo) / np.asarray(mask_small.shape)
    box_lo, box_hi = lo.copy(), hi.copy()
    for axis in range(3):
        share = mask_small.mean(axis=tuple(a for a in range(3) if a != axis))
        idx = np.flatnonzero(share > BBOX_LEVEL)
        if idx.size == 0:
            continue  # no brain along this axis: the whole field of view
        first, last = idx[0], idx[-1] + 1  # voxel edges
        centre, size = (first + last) / 2 * step[axis], (last - first) * step[axis] * (1 + 2 * BBOX_MARGIN)
        box_lo[axis] = max(lo[axis], lo[axis] + centre - size / 2)
        box_hi[axis] = min(hi[axis], lo[axis] + centre + size / 2)
    return box_lo, box_hi


class DeepBetExtractor:
    """deepbet's two networks, loaded once, with brainmri's geometry and QC.

    The interface is :class:`~brainmri.core.hdbet.BrainExtractor`'s: :meth:`extract` returns a
    :class:`~brainmri.core.hdbet.BrainMask` on the scan's own grid with its QC report.

    Args:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        MissingDeepBetError: ``deepbet`` (``brainmri-core[deepbet]``) is not installed.
    """

    backend = "deepbet"
    #: deepbet has one network and no test-time augmentation; recorded as such in reports.
    mode = "single"
    tta = False

    def __init__(self, device="auto"):
        from ..devices import resolve_device
        from .weights import load_model

        self.device = resolve_device(device)
        self.bbox_model = load_model("bbox_model", self.device)
        self.model = load_model("model", self.device)

    def __repr__(self) -> str:
        return f"DeepBetExtractor(device={str(self.device)!r})"

    def probability(self, volume: Volume):
        """Brain probability on the brain box's 256^3 grid and the coarse view of the scan.

        Returns:
            ``(prob, box_affine, small_image, small_affine)``: ``prob (1, 1, 256, 256, 256)``
            float32 on the device, its grid affine, the scan on the 128^3 grid (numpy) and that
            grid's affine.
        """
        import torch

        from ..hdbet.predict import box_grid_affine, sample_grid
        from ..hdbet.qc import components_of
        from ..orientation import storage_frame

        # The closest-RAS voxel frame; boxes in its voxel-index units (edges at -0.5 and n - 0.5).
        _, frame, frame_shape = storage_frame(volume.affine, volume.shape, "RAS")
        lo, hi = np.full(3, -0.5), np.asarray(frame_shape) - 0.5
        data = torch.from_numpy(np.ascontiguousarray(volume.data, dtype=np.float32))[None, None].to(self.device)
        data = torch.nan_to_num(data)
        small_affine = frame @ box_grid_affine(lo, hi, SMALL_SHAPE)
        small = sample_grid(data, volume.affine, small_affine, SMALL_SHAPE, "nearest")[0, 0]
        low, high = torch.quantile(small.flatten(), torch.tensor(QUANTILES, device=small.device))
        found = self.bbox_model(_normalise(small, low, high)[None, None])[0, 1] > THRESHOLD
        found = components_of(found.cpu().numpy())[0]
        box_lo, box_hi = brain_box(found, lo, hi)
        box_affine = frame @ box_grid_affine(box_lo, box_hi, SHAPE)
        x = sample_grid(data, volume.affine, box_affine, SHAPE, "nearest")
        del data
        prob = self.model(_normalise(x, low, high))[:, 1:2]
        return prob, box_affine, small.cpu().numpy(), small_affine

    def extract(self, volume: Volume):
        """Brain mask of one scan on its own grid, with its QC (a :class:`~brainmri.core.hdbet.BrainMask`)."""
        import torch

        from ..hdbet.predict import finish_mask, sample_grid

        start = time.perf_counter()
        with torch.inference_mode():
            prob, box_affine, small, small_affine = self.probability(volume)
            raw = sample_grid(
                prob, box_affine, volume.affine, volume.shape, "linear", post=lambda slab: (slab > THRESHOLD).cpu()
            )[0, 0].numpy()
            small_mask = sample_grid(prob, box_affine, small_affine, SMALL_SHAPE, "linear")[0, 0] > THRESHOLD
            small_mask = small_mask.cpu().numpy()
            del prob
        return finish_mask(
            volume,
            raw,
            small,
            small_affine,
            small_mask,
            start,
            self.mode,
            self.tta,
            fill_holes=True,
            backend=self.backend,
        )
