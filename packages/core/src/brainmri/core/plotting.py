"""Quick-look pictures of scans: :func:`orthoview`, the one three-slice view every overlay uses.

Convention (stated once, for every picture brainmri draws): arrays are shown in RAS voxel
order, in the **neurological** convention. On axial and coronal slices the patient's left
(x < 0 in RAS) is on the left of the picture. Sagittal slices have anterior on the right.
Superior (coronal, sagittal) and anterior (axial) are up. Letters at the edges of each panel
name the sides. matplotlib's Agg canvas is used: no display and no global backend change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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


@dataclass
class Layer:
    """Something drawn over the image: a mask's fill, an outline, or a heat map.

    Attributes:
        data: ``(X, Y, Z)`` array on the image's RAS grid.
        kind: ``fill`` (non-zero voxels, translucent), ``contour`` (outline of non-zero voxels)
            or ``heat`` (values; those below ``threshold`` of the peak are hidden).
        colour: Colour of ``fill`` and ``contour``.
        cmap: Colour map of ``heat``.
        vmin, vmax: Colour range of ``heat`` (default 0 and the largest absolute value).
        alpha: Opacity.
        threshold: ``heat``: fraction of the largest absolute value below which nothing is drawn.
        label: Colour-bar label of ``heat`` (None: no colour bar).
    """

    data: np.ndarray
    kind: str = "contour"
    colour: str = "red"
    cmap: str = "inferno"
    vmin: float | None = None
    vmax: float | None = None
    alpha: float = 0.5
    threshold: float = 0.2
    label: str | None = None


def ras_view(volume: Volume, *arrays: np.ndarray) -> tuple[Volume, list[np.ndarray]]:
    """``volume`` and arrays on its grid, reoriented to RAS voxel order (exact: no interpolation)."""
    from .orientation import reorient

    ras = reorient(volume, "RAS")
    return ras, [reorient(volume.with_data(np.asarray(a)), "RAS").data for a in arrays]


def orthoview(image: np.ndarray, spacing=(1.0, 1.0, 1.0), centre=None, layers=(), title: str = "", figsize=(12.0, 4.6)):
    """Axial, coronal and sagittal slices of a RAS-ordered array through ``centre``, with layers.

    The views follow the neurological convention stated in this module's docstring. Voxel
    sizes set each panel's aspect ratio.

    Args:
        image: ``(X, Y, Z)`` image in RAS voxel order (see :func:`ras_view`).
        spacing: Voxel size (mm), ``(3,)`` or one value.
        centre: Voxel ``(i, j, k)`` the slices cross; default the middle.
        layers: :class:`Layer` objects drawn in order over the image.
        title: Figure title.
        figsize: Figure size in inches.

    Returns:
        The matplotlib ``Figure`` (save it with :func:`save_figure`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    image = np.asarray(image, dtype=np.float32)
    spacing = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (3,))
    centre = np.array(image.shape) // 2 if centre is None else np.asarray(centre, dtype=int)
    lo, hi = np.percentile(image, [0.5, 99.5]) if image.size else (0.0, 1.0)
    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(VIEWS))
    colour_bars = []
    for ax, (name, axis, (a, b), letters) in zip(axes, VIEWS):
        take = [slice(None)] * 3
        take[axis] = int(centre[axis])
        take = tuple(take)
        aspect = spacing[b] / spacing[a]
        ax.imshow(image[take].T, origin="lower", cmap="gray", vmin=lo, vmax=hi, aspect=aspect, interpolation="nearest")
        for layer in layers:
            shown = _draw(ax, layer, np.asarray(layer.data)[take], aspect)
            if shown is not None and layer.label and not colour_bars:
                colour_bars.append((shown, layer.label))
        ax.set_title(f"{name} ({'xyz'[axis]}={int(centre[axis])})", fontsize=10)
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
            ax.text(x, y, text, transform=ax.transAxes, color="yellow", fontsize=9, ha=ha, va=va)
    for shown, label in colour_bars:
        fig.colorbar(shown, ax=list(axes), fraction=0.025, pad=0.02, label=label)
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
        return ax.contour(inside.T.astype(float), levels=[0.5], colors=layer.colour, linewidths=1.0, origin="lower")
    raise ValueError(f"layer kind must be fill, contour or heat, not {layer.kind!r}")


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write a figure as PNG, atomically."""
    from .atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def overlay_png(volume: Volume, mask, path: str | os.PathLike, title: str | None = None) -> Path:
    """Save an :func:`orthoview` of a scan with a mask's fill and outline, through the mask's centroid.

    Args:
        volume: The scan.
        mask: Mask on the scan's grid: a Volume or an array ``(X, Y, Z)``; non-zero is inside.
        path: Output ``.png`` (written atomically).
        title: Title; default: the scan's file name and the mask volume in cm3.

    Returns:
        The written path.
    """
    mask_data = np.asarray(getattr(mask, "data", mask)) > 0
    if mask_data.shape != volume.shape:
        raise ValueError(f"mask shape {mask_data.shape} does not match the scan {volume.shape}")
    image, (inside,) = ras_view(volume, mask_data.astype(np.uint8))
    centre = np.argwhere(inside).mean(axis=0).round().astype(int) if inside.any() else None
    if title is None:
        cm3 = float(mask_data.sum()) * abs(float(np.linalg.det(volume.affine[:3, :3]))) / 1000.0
        title = f"{Path(volume.path).name if volume.path else 'scan'}: mask {cm3:.0f} cm3"
    layers = [Layer(inside, "fill", colour="red", alpha=0.25), Layer(inside, "contour", colour="red")]
    return save_figure(orthoview(image.data, image.spacing, centre, layers, title), path)
