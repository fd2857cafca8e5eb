"""Which layer Grad-CAM hooks: listing a network's convolutional modules and choosing one.

Grad-CAM weighs a layer's feature maps by their pooled gradients, so the layer must have a
spatial output. :func:`conv_layers` runs one forward pass with hooks to record every
module's output shape and the order in which modules finish; :func:`default_layer` picks
the last module that contains a ``Conv3d`` (or normalises a convolution's output) and still
has a spatial output of more than one voxel (the last convolutional block; for a segmenter,
the last one before its output layer), unless the task registry names a layer.

Normalisation layers are candidates because a bare convolution followed by
``InstanceNorm3d`` (VT1's ``conv4``) is useless to Grad-CAM: the norm removes each channel's
mean, so the channel weights (mean gradients) are zero (see :mod:`~brainmri.explain.gradcam`);
the norm's output is the layer to hook.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
from torch import nn

from brainmri.core.errors import BrainmriError


@dataclass(frozen=True)
class LayerInfo:
    """A module Grad-CAM can hook.

    Attributes:
        name: Dotted module name (``layer4``, ``feature_extractor.4``, ``conv4``).
        kind: Class name of the module.
        out_shape: Output shape ``(B, C, X, Y, Z)`` for the probed input; ``()`` when unknown.
        order: Position at which the module finished its forward pass (larger is later).
        is_output: Whether its output is the network's output (e.g. a segmenter's final
            classifier convolution: its "features" are the logits themselves).
    """

    name: str
    kind: str
    out_shape: tuple[int, ...]
    order: int
    is_output: bool = False

    @property
    def spatial(self) -> bool:
        """Whether the output is a 3D map of more than one voxel."""
        return len(self.out_shape) == 5 and self.out_shape[2] * self.out_shape[3] * self.out_shape[4] > 1


#: Normalisations whose output Grad-CAM may hook (they follow a convolution).
_NORMS = (nn.InstanceNorm3d, nn.BatchNorm3d, nn.GroupNorm)


def _contains_conv(module: nn.Module) -> bool:
    return isinstance(module, _NORMS) or any(isinstance(m, nn.Conv3d) for m in module.modules())


def conv_layers(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerInfo]:
    """Modules holding a ``Conv3d`` (blocks, convolutions, their normalisations), in forward order.

    Args:
        model: The network (not modified; one forward pass runs on zeros without gradients).
        input_shape: Model input shape ``(B, C, X, Y, Z)``; its spatial size decides the
            output shapes (e.g. the run's grid shape).

    Returns:
        One :class:`LayerInfo` per named module (the root excluded) that contains a
        ``Conv3d`` or is a 3D/group normalisation, and ran during the forward pass, ordered
        by when it finished.
    """
    candidates = {name: m for name, m in model.named_modules() if name and _contains_conv(m)}
    seen: dict[str, tuple[tuple[int, ...], int, torch.Tensor]] = {}
    handles = []

    def hook_for(name: str):
        def hook(module, inputs, output):
            if name not in seen and torch.is_tensor(output):
                seen[name] = (tuple(output.shape), len(seen), output)

        return hook

    for name, module in candidates.items():
        handles.append(module.register_forward_hook(hook_for(name)))
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    try:
        with torch.no_grad():
            final = model(torch.zeros(input_shape, device=device))
    finally:
        for h in handles:
            h.remove()
    infos = [LayerInfo(n, type(candidates[n]).__name__, shape, order, out is final)
             for n, (shape, order, out) in seen.items()]
    return sorted(infos, key=lambda info: info.order)


def default_layer(model: nn.Module, input_shape: tuple[int, ...], preferred: str | None = None) -> str:
    """The layer Grad-CAM uses when none is asked for.

    Args:
        model: The network.
        input_shape: Model input shape ``(B, C, X, Y, Z)``.
        preferred: A name suggested by the task registry (``Task.gradcam_layer``); used when
            the model has it and its output is spatial.

    Returns:
        The module name: ``preferred`` if usable, else the last block containing a ``Conv3d``
        whose output is a map of more than one voxel and not the network's output itself.

    Raises:
        BrainmriError: The network has no such module.
    """
    key = (tuple(int(s) for s in input_shape), preferred)
    cached = _DEFAULTS.get(model, {})
    if key in cached:
        return cached[key]
    layers = [info for info in conv_layers(model, input_shape) if info.spatial and not info.is_output]
    if preferred and any(info.name == preferred for info in layers):
        name = preferred
    elif layers:
        name = layers[-1].name
    else:
        raise BrainmriError("the network has no convolutional layer with a spatial output for Grad-CAM")
    _DEFAULTS.setdefault(model, {})[key] = name
    return name


#: Default layer per network and input shape (finding it costs a forward pass).
_DEFAULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The module called ``name``, or a one-line error listing the convolutional choices."""
    modules = dict(model.named_modules())
    if name in modules and name:
        return modules[name]
    choices = [n for n, m in modules.items() if n and _contains_conv(m)]
    shown = ", ".join(choices[-12:])
    raise BrainmriError(f"no layer {name!r} in the network; convolutional layers include: {shown} "
                        "(brainmri-explain layers RUN lists them all)")
