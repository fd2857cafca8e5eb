"""Quick-look pictures of scans: :func:`orthoview`, the one three-slice view every picture uses.

Convention (stated once, for every picture brainmri draws): volumes are shown in RAS voxel
order (exact reorientation of the stored array, no interpolation), in the **neurological**
convention. On axial and coronal slices the patient's left (x < 0 in RAS) is on the left of
the picture. Sagittal slices have anterior on the right. Superior (coronal, sagittal) and
anterior (axial) are up. Letters at the edges of each panel name the sides (R/L, A/P, S/I)
and each panel's title gives the world coordinate of its plane in mm (RAS, as in the NIfTI
header). Slices pass through the structure shown (:func:`focus_slices` of the layers), not
the volume's middle. Label colours come from one palette, :data:`PALETTE`. matplotlib's Agg
canvas is used: no display and no global backend change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .volume import Volume

#: ``(name, fixed axis, (horizontal axis, vertical axis), (left, right, bottom, top) letters)``.
#: RAS +x points to the patient's right, so x growing to the right puts the left on the left.
VIEWS = (
    ("axial", 2, (0, 1), ("L", "R", "P", "A")),
    ("coronal", 1, (0, 2), ("L", "R", "I", "S")),
    ("sagittal", 0, (1, 2), ("P", "A", "I", "S")),
)

#: One palette for every label overlay. Left is warm (vermilion, hue 16 deg), right is cool
#: (indigo blue, hue 231 deg): 145 deg apart, both fully saturated and bright so neither reads
#: as grey on a grey scan. Vermilion/blue is the Okabe-Ito pair that stays distinct with red-green
#: colour blindness; the blue leans to indigo and is brighter than matplotlib's ``tab:blue``
#: (hue 205 deg, value 0.71), which reads as teal over grey. The reference is yellow and dashed
#: (a line style as well as a colour); a single mask (brain extraction) is vermilion.
PALETTE = {"left": "#ff5a1f", "right": "#3d5afe", "reference": "#ffe600", "mask": "#ff5a1f"}


@dataclass
class Layer:
    """Something drawn over the image: a mask's fill, an outline, or a heat map.

    Attributes:
        data: ``(X, Y, Z)`` array on the image's grid (the same storage order as the image).
        kind: ``fill`` (non-zero voxels, translucent), ``contour`` (outline of non-zero voxels)
            or ``heat`` (values; those below ``threshold`` of the peak are hidden).
        colour: Colour of ``fill`` and ``contour`` (see :data:`PALETTE`).
        cmap: Colour map of ``heat``.
        vmin, vmax: Colour range of ``heat`` (default 0 and the largest absolute value).
        alpha: Opacity.
        threshold: ``heat``: fraction of the largest absolute value below which nothing is drawn.
        label: ``heat``: colour-bar label; ``fill``/``contour``: legend entry (None: none).
        linestyle: Line style of ``contour`` (``solid``, ``dashed``...).
    """

    data: np.ndarray
    kind: str = "contour"
    colour: str = PALETTE["mask"]
    cmap: str = "inferno"
    vmin: float | None = None
    vmax: float | None = None
    alpha: float = 0.5
    threshold: float = 0.2
    label: str | None = None
    linestyle: str = "solid"


def ras_view(volume: Volume, *arrays: np.ndarray) -> tuple[Volume, list[np.ndarray]]:
    """``volume`` and arrays on its grid, reoriented to RAS voxel order (exact: no interpolation)."""
    from .orientation import reorient

    ras = reorient(volume, "RAS")
    return ras, [reorient(volume.with_data(np.asarray(a)), "RAS").data for a in arrays]


def focus_slices(weights: np.ndarray) -> tuple[int, int, int]:
    """The voxel whose three planes cut through the positive ``weights``: a structure's mass centre.

    The weighted centre of mass when it lies inside the structure (a brain mask, one blob, an
    attribution map). When it does not (two hippocampi: their centre is the empty midline
    between them; two separate blobs), per axis the plane holding the largest share of the
    weights instead: a sagittal plane through one hippocampus, the middle one of equal planes
    for an upsampling plateau that reaches the grid's edge.

    Args:
        weights: ``(X, Y, Z)`` array; values <= 0 count as nothing.

    Returns:
        Voxel ``(i, j, k)``; the middle of the array when nothing is positive.
    """
    positive = np.clip(np.nan_to_num(np.asarray(weights, dtype=np.float64)), 0.0, None)
    if not positive.any():
        return tuple(int(s) // 2 for s in positive.shape)
    profiles = [positive.sum(axis=tuple(a for a in range(3) if a != axis)) for axis in range(3)]
    total = float(profiles[0].sum())
    centre = tuple(int(np.rint(float(p @ np.arange(p.size)) / total)) for p in profiles)
    if positive[centre] > 0:
        return centre
    out = []
    for profile in profiles:
        best = np.flatnonzero(profile >= profile.max() * (1 - 1e-6))
        out.append(int(best[len(best) // 2]))
    return tuple(out)


def _layer_weights(layers) -> np.ndarray | None:
    """What the slices should pass through: the layers' non-zero voxels (heat: positive values)."""
    total = None
    for layer in layers:
        data = np.asarray(layer.data, dtype=np.float64)
        weight = np.clip(data, 0.0, None) if layer.kind == "heat" else (data > 0).astype(np.float64)
        if weight.max(initial=0.0) <= 0:
            continue
        weight = weight / weight.max()
        total = weight if total is None else total + weight
    return total


def orthoview(volume: Volume, layers=(), centre=None, title: str = "", figsize=(12.0, 4.6)):
    """Axial, coronal and sagittal slices of a scan with layers, through the structure they show.

    The volume (any storage orientation) and its layers are reoriented exactly to RAS voxel
    order and drawn in the neurological convention of this module's docstring: orientation
    letters at each panel's sides and the plane's world coordinate (mm) in each panel's title.
    Voxel sizes set each panel's aspect ratio.

    Args:
        volume: The scan (the picture's background).
        layers: :class:`Layer` objects on the volume's grid, drawn in order over the image.
        centre: World point ``(x, y, z)`` in mm the slices cross; default :func:`focus_slices`
            of the layers (the middle of the volume when there are none).
        title: Figure title.
        figsize: Figure size in inches.

    Returns:
        The matplotlib ``Figure`` (save it with :func:`save_figure`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    ras, arrays = ras_view(volume, *(layer.data for layer in layers))
    layers = [replace(layer, data=data) for layer, data in zip(layers, arrays)]
    image = np.asarray(ras.data, dtype=np.float32)
    if centre is None:
        weights = _layer_weights(layers)
        voxel = np.array(focus_slices(weights) if weights is not None else np.array(image.shape) // 2)
    else:
        point = np.append(np.asarray(centre, dtype=np.float64), 1.0)
        voxel = np.rint(np.linalg.solve(ras.affine, point)[:3]).astype(int)
    voxel = np.clip(voxel, 0, np.array(image.shape) - 1)
    world = (ras.affine @ np.append(voxel, 1.0))[:3]
    spacing = np.broadcast_to(np.asarray(ras.spacing, dtype=np.float64), (3,))
    lo, hi = np.nanpercentile(image, [0.5, 99.5]) if image.size else (0.0, 1.0)
    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(VIEWS))
    colour_bars = []
    for ax, (name, axis, (a, b), letters) in zip(axes, VIEWS):
        take = [slice(None)] * 3
        take[axis] = int(voxel[axis])
        take = tuple(take)
        aspect = spacing[b] / spacing[a]
        ax.imshow(image[take].T, origin="lower", cmap="gray", vmin=lo, vmax=hi, aspect=aspect, interpolation="nearest")
        for layer in layers:
            shown = _draw(ax, layer, np.asarray(layer.data)[take], aspect)
            if shown is not None and layer.kind == "heat" and layer.label and not colour_bars:
                colour_bars.append((shown, layer.label))
        ax.set_title(f"{name}  {'xyz'[axis]} = {world[axis]:+.1f} mm", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        left, right, bottom, top = letters
        for x, y, text, ha, va in (
            (0.01, 0.5, left, "left", "center"),
            (0.99, 0.5, right, "right", "center"),
            (0.5, 0.01, bottom, "center", "bottom"),
            (0.5, 0.99, top, "center", "top"),
        ):
            ax.text(
                x,
                y,
                text,
                transform=ax.transAxes,
                color="white",
                fontsize=10,
                fontweight="bold",
                ha=ha,
                va=va,
                bbox={"facecolor": "black", "alpha": 0.5, "pad": 1.0, "linewidth": 0},
            )
    for shown, label in colour_bars:
        fig.colorbar(shown, ax=list(axes), fraction=0.025, pad=0.02, label=label)
    legend = [
        Line2D([], [], color=layer.colour, linestyle=layer.linestyle, linewidth=2.5, label=layer.label)
        for layer in layers
        if layer.kind != "heat" and layer.label
    ]
    if legend:
        fig.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _draw(ax, layer: Layer, cut: np.ndarray, aspect: float):
    if layer.kind == "heat":
        cut = cut.astype(np.float32)
        top = float(np.abs(layer.data).max()) or 1.0
        vmax = top if layer.vmax is None else layer.vmax
        vmin = 0.0 if layer.vmin is None else layer.vmin
        faint = np.abs(cut) < layer.threshold * top
        return ax.imshow(
            np.ma.masked_where(faint, cut).T,
            origin="lower",
            cmap=layer.cmap,
            vmin=vmin,
            vmax=vmax,
            alpha=layer.alpha,
            aspect=aspect,
            interpolation="nearest",
        )
    inside = cut > 0
    if not inside.any():
        return None
    if layer.kind == "fill":
        from matplotlib.colors import ListedColormap

        return ax.imshow(
            np.ma.masked_where(~inside, inside).T,
            origin="lower",
            cmap=ListedColormap([layer.colour]),
            alpha=layer.alpha,
            aspect=aspect,
            interpolation="nearest",
        )
    if layer.kind == "contour":
        return ax.contour(
            inside.T.astype(float),
            levels=[0.5],
            colors=layer.colour,
            linewidths=1.5,
            linestyles=layer.linestyle,
            origin="lower",
        )
    raise ValueError(f"layer kind must be fill, contour or heat, not {layer.kind!r}")


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write a figure as PNG, atomically."""
    from .atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def save_orthoview(
    volume: Volume, path: str | os.PathLike, layers=(), centre=None, title: str = "", figsize=(12.0, 4.6)
) -> Path:
    """:func:`orthoview` written as a PNG (atomically); every scan picture brainmri writes goes here."""
    return save_figure(orthoview(volume, layers, centre, title, figsize), path)


def overlay_png(volume: Volume, mask, path: str | os.PathLike, title: str | None = None) -> Path:
    """Save an :func:`orthoview` of a scan with a mask's fill and outline, through the mask.

    Args:
        volume: The scan (the background).
        mask: Mask on the scan's grid: a Volume or an array ``(X, Y, Z)``; non-zero is inside.
        path: Output ``.png`` (written atomically).
        title: Title; default: the scan's file name and the mask volume in cm3.

    Returns:
        The written path.
    """
    mask_data = np.asarray(getattr(mask, "data", mask)) > 0
    if mask_data.shape != volume.shape:
        raise ValueError(f"mask shape {mask_data.shape} does not match the scan {volume.shape}")
    if title is None:
        cm3 = float(mask_data.sum()) * abs(float(np.linalg.det(volume.affine[:3, :3]))) / 1000.0
        title = f"{Path(volume.path).name if volume.path else 'scan'}: mask {cm3:.0f} cm3"
    inside = mask_data.astype(np.uint8)
    layers = [
        Layer(inside, "fill", colour=PALETTE["mask"], alpha=0.25),
        Layer(inside, "contour", colour=PALETTE["mask"], label="brain mask"),
    ]
    return save_orthoview(volume, path, layers, title=title)
