"""Scan pictures: one orthoview, neurological convention, letters and mm on every panel."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from brainmri.core.orientation import reorient
from brainmri.core.plotting import PALETTE, Layer, focus_slices, orthoview, overlay_png
from brainmri.core.volume import Volume

BLOB_WORLD = (-31.0, 5.0, -7.0)  # on the grid; the patient's left (x < 0), anterior, inferior


def _head_with_a_left_blob() -> tuple[Volume, np.ndarray]:
    """A RAS volume (2 mm) whose bright spot is at world x = -31 mm: the patient's left."""
    shape = (48, 40, 36)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -2.0 * (np.asarray(shape) - 1) / 2.0
    data = np.zeros(shape, dtype=np.float32)
    data[4:-4, 4:-4, 4:-4] = 10.0  # a dim "head"
    blob = np.rint(np.linalg.inv(affine) @ np.array([*BLOB_WORLD, 1.0]))[:3].astype(int)
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
    volume, _ = _head_with_a_left_blob()
    fig = orthoview(reorient(volume, orientation), centre=BLOB_WORLD)
    axial, coronal, _ = fig.axes
    for ax in (axial, coronal):
        letters = {t.get_text(): t.get_position()[0] for t in ax.texts}
        label_side = "left" if letters["L"] < 0.5 else "right"
        assert _column_side(ax) == label_side == "left"  # neurological: the patient's left on the left


def test_every_panel_names_its_sides_and_its_plane_in_world_mm():
    volume, _ = _head_with_a_left_blob()
    fig = orthoview(reorient(volume, "LIA"), centre=BLOB_WORLD)
    panels = fig.axes[:3]
    expected_letters = [{"L", "R", "A", "P"}, {"L", "R", "S", "I"}, {"A", "P", "S", "I"}]
    for ax, letters in zip(panels, expected_letters):
        assert {t.get_text() for t in ax.texts} == letters
    planes = {"axial": ("z", BLOB_WORLD[2]), "coronal": ("y", BLOB_WORLD[1]), "sagittal": ("x", BLOB_WORLD[0])}
    for ax in panels:
        title = ax.get_title()
        axis, value = planes[title.split()[0]]
        assert f"{axis} = {value:+.1f} mm" in title, title


def test_a_marker_on_the_patients_left_is_drawn_on_the_side_labelled_l_in_the_pixels():
    """Rendered pixels, not array bookkeeping: a green marker at world x = -31 in a LIA file."""
    volume, blob = _head_with_a_left_blob()
    marker = np.zeros(volume.shape, dtype=np.uint8)
    marker[tuple(slice(b - 2, b + 3) for b in blob)] = 1
    stored, marker_lia = reorient(volume, "LIA"), reorient(volume.with_data(marker), "LIA").data
    fig = orthoview(stored, [Layer(marker_lia, "fill", colour="#00ff00", alpha=1.0)])
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    height = rgba.shape[0]
    green = (rgba[..., 1] > 200) & (rgba[..., 0] < 60) & (rgba[..., 2] < 60)
    for ax in fig.axes[:2]:  # axial and coronal
        box = ax.get_window_extent()
        rows = slice(int(height - box.y1), int(height - box.y0))  # display y counts from the bottom
        cols = slice(int(box.x0), int(box.x1))
        xs = np.flatnonzero(green[rows, cols].any(axis=0)) + int(box.x0)
        assert xs.size, "the marker is not in the panel"
        letter = {t.get_text(): t.get_window_extent() for t in ax.texts}
        left_x, right_x = (letter["L"].x0 + letter["L"].x1) / 2, (letter["R"].x0 + letter["R"].x1) / 2
        assert abs(xs.mean() - left_x) < abs(xs.mean() - right_x)


def test_slices_pass_through_a_small_off_centre_structure():
    volume, _ = _head_with_a_left_blob()
    small = np.zeros(volume.shape, dtype=np.uint8)
    small[8:11, 30:32, 5:7] = 1  # 12 voxels far from the middle (24, 20, 18)
    stored, small_lia = reorient(volume, "LIA"), reorient(volume.with_data(small), "LIA").data
    fig = orthoview(stored, [Layer(small_lia, "fill", alpha=1.0)])
    for ax in fig.axes[:3]:
        assert np.asarray(ax.images[1].get_array()).any(), ax.get_title()  # the structure is in every panel
    world = volume.affine @ np.array([9.0, 30.5, 5.5, 1.0])  # its centre, from the construction
    titles = " ".join(ax.get_title() for ax in fig.axes[:3])
    assert f"x = {world[0]:+.1f} mm" in titles
    assert focus_slices(small) in {(9, 30, 5), (9, 30, 6), (9, 31, 5), (9, 31, 6)}


def _hsv(colour: str) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(*(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)))


def test_left_and_right_colours_are_far_apart_and_neither_is_grey_or_teal():
    (h_left, s_left, v_left), (h_right, s_right, v_right) = _hsv(PALETTE["left"]), _hsv(PALETTE["right"])
    distance = abs(h_left - h_right) * 360
    assert min(distance, 360 - distance) >= 120  # hue distance, degrees
    assert min(s_left, s_right) >= 0.6 and min(v_left, v_right) >= 0.85  # saturated and bright: not grey
    assert not 165 <= h_right * 360 <= 210  # not teal/cyan, which is what matplotlib's tab:blue reads as
    assert PALETTE["reference"] not in (PALETTE["left"], PALETTE["right"])


def test_overlay_png_draws_the_mask_through_it(tmp_path):
    volume, blob = _head_with_a_left_blob()
    mask = (volume.data > 50).astype(np.uint8)
    fig_path = overlay_png(reorient(volume, "LIA"), reorient(volume.with_data(mask), "LIA"), tmp_path / "o.png")
    assert fig_path.is_file() and fig_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="does not match"):
        overlay_png(volume, mask[:-1], tmp_path / "bad.png")


def test_heat_layer_hides_faint_values_and_has_a_colour_bar():
    volume, blob = _head_with_a_left_blob()
    heat = np.zeros(volume.shape, dtype=np.float32)
    heat[tuple(blob)] = 1.0
    heat[0, 0, 0] = 0.1  # below 20% of the peak: not drawn
    fig = orthoview(volume, [Layer(heat, "heat", label="attribution")])  # slices through the peak by default
    axial = fig.axes[0]
    overlay = axial.images[1].get_array()
    assert overlay.count() == 1  # only the peak voxel is shown in the axial slice through it
    assert any(ax.get_ylabel() == "attribution" for ax in fig.axes[3:])  # the colour bar


def test_two_separate_structures_are_both_cut_and_never_the_empty_gap_between_them():
    """Two hippocampi: their mass centre is the empty midline; the planes go through them instead."""
    labels = np.zeros((40, 30, 20), dtype=np.uint8)
    labels[8:12, 10:20, 6:10] = 1
    labels[28:32, 10:20, 6:10] = 2
    i, j, k = focus_slices(labels)
    assert 8 <= i < 12 or 28 <= i < 32  # the sagittal plane through one of them, not x = 20
    assert 10 <= j < 20 and 6 <= k < 10  # coronal and axial planes through both
    one = np.zeros_like(labels)
    one[5:16, 5:24, 2:19] = 1
    assert focus_slices(one) == (10, 14, 10)  # a single body: its centre of mass
