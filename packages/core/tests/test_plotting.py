"""Scan pictures: one orthoview, neurological convention, the patient's left where the label says L."""

from __future__ import annotations

import numpy as np
import pytest

from brainmri.core.orientation import reorient
from brainmri.core.plotting import Layer, orthoview, overlay_png, ras_view
from brainmri.core.volume import Volume


def _head_with_a_left_blob() -> tuple[Volume, np.ndarray]:
    """A RAS volume (2 mm) whose only bright spot is at world x = -30 mm: the patient's left."""
    shape = (48, 40, 36)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -2.0 * (np.asarray(shape) - 1) / 2.0
    data = np.zeros(shape, dtype=np.float32)
    blob = np.rint(np.linalg.inv(affine) @ np.array([-30.0, 4.0, -6.0, 1.0]))[:3].astype(int)
    data[tuple(slice(b - 2, b + 3) for b in blob)] = 100.0
    return Volume(data, affine), blob


def _column_side(ax) -> str:
    """``left`` or ``right``: the half of the panel where the image's bright pixels are."""
    shown = np.asarray(ax.images[0].get_array())  # rows: vertical axis, columns: horizontal (origin lower)
    columns = np.flatnonzero(shown.max(axis=0) > 50)
    assert columns.size and not ax.xaxis_inverted()
    return "left" if columns.mean() < shown.shape[1] / 2 else "right"


@pytest.mark.parametrize("orientation", ["RAS", "LAS", "LIA", "PIL"])
def test_the_patients_left_is_on_the_side_labelled_l_whatever_the_storage(orientation):
    volume, blob = _head_with_a_left_blob()
    stored = reorient(volume, orientation)
    ras, _ = ras_view(stored)
    world = volume.affine @ np.array([*blob, 1.0])
    centre = np.rint(np.linalg.inv(ras.affine) @ world)[:3].astype(int)
    fig = orthoview(ras.data, ras.spacing, centre)
    axial, coronal, _ = fig.axes
    for ax in (axial, coronal):
        letters = {t.get_text(): t.get_position()[0] for t in ax.texts}
        label_side = "left" if letters["L"] < 0.5 else "right"
        assert _column_side(ax) == label_side == "left"  # neurological: the patient's left on the left


def test_overlay_png_draws_the_mask_through_its_centroid(tmp_path):
    volume, blob = _head_with_a_left_blob()
    mask = (volume.data > 50).astype(np.uint8)
    path = overlay_png(reorient(volume, "LIA"), reorient(volume.with_data(mask), "LIA"), tmp_path / "o.png")
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="does not match"):
        overlay_png(volume, mask[:-1], tmp_path / "bad.png")


def test_heat_layer_hides_faint_values_and_has_a_colour_bar():
    volume, blob = _head_with_a_left_blob()
    heat = np.zeros(volume.shape, dtype=np.float32)
    heat[tuple(blob)] = 1.0
    heat[0, 0, 0] = 0.1  # below 20% of the peak: not drawn
    fig = orthoview(volume.data, volume.spacing, blob, [Layer(heat, "heat", label="attribution")])
    axial = fig.axes[0]
    overlay = axial.images[1].get_array()
    assert overlay.count() == 1  # only the peak voxel is shown in the axial slice through it
    assert any(ax.get_ylabel() == "attribution" for ax in fig.axes[3:])  # the colour bar
