"""Refusing maps that explain nothing: empty, degenerate or non-finite attribution.

A zero map written as a result reads as "the model looked nowhere"; these checks turn it into
one line naming the cause, which ``--on-error`` then handles like any bad input.
"""

from __future__ import annotations

import torch

from brainmri.core.errors import BrainmriError

from .gradcam import LayerCam

#: Below this gradient balance the Grad-CAM weights are rounding noise (see ``LayerCam.balance``).
MIN_BALANCE = 1e-4


class EmptyMapError(BrainmriError):
    """An attribution map with nothing in it (or nothing meaningful)."""


def check_layer_cam(cam: LayerCam, layer: str, target: str) -> None:
    """Raise :class:`EmptyMapError` when a Grad-CAM cannot be a result.

    Args:
        cam: The layer's Grad-CAM.
        layer: Its module name (for the message).
        target: What was explained (``class 1 (predicted)``, ``age``...).

    Raises:
        EmptyMapError: No gradient reaches the layer; the channel gradients cancel (a layer
            followed by instance normalisation); or no voxel has positive evidence.
    """
    hint = "choose another layer with --layer (brainmri-explain layers RUN lists them)"
    if not bool(torch.isfinite(cam.raw).all()):
        raise EmptyMapError(f"Grad-CAM at {layer!r} is not finite (NaN or inf in the layer): {hint}")
    if cam.balance != cam.balance:
        raise EmptyMapError(f"Grad-CAM at {layer!r} is empty: no gradient of {target} reaches the layer; {hint}")
    if cam.balance < MIN_BALANCE:
        raise EmptyMapError(
            f"Grad-CAM at {layer!r} is degenerate: its channel gradients cancel (balance "
            f"{cam.balance:.1e}; a convolution followed by instance normalisation does this); "
            f"{hint}"
        )
    if float(cam.raw.max()) <= 0:
        raise EmptyMapError(
            f"Grad-CAM at {layer!r} is empty: no voxel has positive evidence for {target} "
            f"(all {cam.raw.numel()} layer voxels <= 0); try --target or another --layer"
        )


def check_grid_map(grid_map: torch.Tensor, method: str) -> None:
    """Raise :class:`EmptyMapError` for a map of ``method`` that is all zero or not finite."""
    if not bool(torch.isfinite(grid_map).all()):
        raise EmptyMapError(f"the {method} map is not finite (NaN or inf)")
    if not bool((grid_map != 0).any()):
        raise EmptyMapError(f"the {method} map is zero everywhere: the target does not depend on the input")


def check_attribution(attribution) -> None:
    """:func:`check_layer_cam` (Grad-CAM methods) and :func:`check_grid_map` of an
    :class:`~brainmri.explain.attribution.Attribution`.

    Raises:
        EmptyMapError: The map is empty, degenerate or not finite.
    """
    if attribution.layer_cam is not None:
        check_layer_cam(attribution.layer_cam, attribution.layer, attribution.target.label)
    check_grid_map(attribution.grid_map, attribution.method)
