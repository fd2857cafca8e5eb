"""Where the evidence is: the share of positive attribution inside and outside the brain.

The reference project asked whether full-head sex models look at the skull and face; the
share of a map's positive mass outside the brain mask (skull, face, neck) answers it, and
the brain's share of the covered head voxels is the value a map with no preference would get.
"""

from __future__ import annotations

import numpy as np

from brainmri.core.errors import ScanError

#: Columns of :func:`region_fractions`, in CSV order.
COLUMNS = ("positive_total", "inside_fraction", "outside_fraction", "brain_voxel_fraction")


def region_fractions(native_map: np.ndarray, mask: np.ndarray, covered: np.ndarray | None = None,
                     mask_path: str | None = None, brain_only_input: bool = False) -> dict[str, float]:
    """Fractions of a map's positive mass inside and outside a brain mask.

    Args:
        native_map: ``(X, Y, Z)`` attribution on the scan's grid (negative values ignored).
        mask: ``(X, Y, Z)`` brain mask on the same grid (non-zero = brain).
        covered: Optional ``(X, Y, Z)`` boolean of the voxels the model saw (inside its
            grid); the brain share is computed over those (default: every voxel).
        mask_path: Name used in the error message when the grids differ.
        brain_only_input: The model's input was masked to the brain: it had no voxel outside,
            so any attribution there is upsampling spill-over, not evidence. The fractions are
            then NaN (not reported) and only ``positive_total`` is given.

    Returns:
        ``positive_total`` (sum of the positive values), ``inside_fraction`` and
        ``outside_fraction`` (they sum to 1; NaN when the map has no positive value) and
        ``brain_voxel_fraction`` (brain voxels / covered voxels: the inside fraction of a
        uniform map).
    """
    nan = float("nan")
    if tuple(mask.shape[:3]) != tuple(native_map.shape):
        raise ScanError(mask_path,
                        f"mask shape {tuple(mask.shape)} does not match the map's {native_map.shape}")
    positive = np.clip(np.asarray(native_map, dtype=np.float64), 0.0, None)
    brain = np.asarray(mask) > 0
    total = float(positive.sum())
    inside = float(positive[brain].sum())
    region = np.ones(brain.shape, dtype=bool) if covered is None else np.asarray(covered, dtype=bool)
    n_covered = int(region.sum())
    if brain_only_input:
        return {"positive_total": total, "inside_fraction": nan, "outside_fraction": nan,
                "brain_voxel_fraction": nan}
    return {
        "positive_total": total,
        "inside_fraction": inside / total if total > 0 else nan,
        "outside_fraction": (total - inside) / total if total > 0 else nan,
        "brain_voxel_fraction": float((brain & region).sum()) / n_covered if n_covered else nan,
    }
