"""The segmentation picture: left and right outlines in the palette's two distinct colours, over the scan."""

from __future__ import annotations

import numpy as np

from brainmri.core.orientation import reorient
from brainmri.core.plotting import PALETTE
from brainmri.core.volume import Volume
from brainmri.segment.plotting import overlay_png


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def test_left_and_right_labels_are_outlined_in_their_palette_colours_on_their_sides(tmp_path):
    import matplotlib.image as mpimg

    shape = (40, 36, 30)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -np.asarray(shape) + 1.0
    scan = np.full(shape, 50.0, dtype=np.float32)  # a uniform grey background
    labels = np.zeros(shape, dtype=np.uint8)
    labels[8:13, 14:22, 10:15] = 1  # x < 0: the patient's left
    labels[27:32, 14:22, 10:15] = 2
    stored = reorient(Volume(scan, affine), "LIA")
    path = overlay_png(stored, reorient(Volume(labels, affine), "LIA").data, tmp_path / "o.png")
    rgb = mpimg.imread(str(path))[..., :3]
    height, width = rgb.shape[:2]
    axial = rgb[: int(height * 0.85), : int(width * 0.36)]  # the first panel (axial), above the legend
    where = {}
    for side in ("left", "right"):
        near = np.linalg.norm(axial - _rgb(PALETTE[side]), axis=-1) < 0.15
        assert near.sum() > 20, side
        where[side] = np.flatnonzero(near.any(axis=0)).mean()
    assert where["left"] < where["right"]  # neurological convention: the patient's left on the left
