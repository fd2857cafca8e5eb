"""Grad-CAM of one layer, with the figures that tell a meaningful map from an empty one.

Grad-CAM weighs each feature map ``A_c`` of a layer by the spatial mean of the target's
gradient, ``w_c = mean(dy/dA_c)``, and sums: ``cam = ReLU(sum_c w_c A_c)``. When the hooked
layer feeds a per-channel spatial normalisation (``InstanceNorm3d`` right after ``conv4`` in
VT1), the output does not change when a constant is added to a channel, so every
``sum(dy/dA_c)`` is zero by construction: the weights are rounding noise (~1e-8 of the
gradients), the map is ~1e-10 and mostly zero after the ReLU. :class:`LayerCam` keeps that
ratio (``balance``) so such a map is refused instead of written
(:func:`~brainmri.explain.quality.check_layer_cam`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from brainmri.core.errors import BrainmriError


@dataclass
class LayerCam:
    """Grad-CAM at a layer's resolution.

    Attributes:
        raw: ``(1, 1, x, y, z)`` weighted sum of the feature maps before the ReLU.
        balance: ``sum_c |mean(g_c)| / sum_c mean(|g_c|)`` over the layer's gradients ``g``:
            1 when each channel's gradient has one sign, ~0 when they cancel (NaN when no
            gradient reaches the layer).
    """

    raw: torch.Tensor
    balance: float

    @property
    def cam(self) -> torch.Tensor:
        """The Grad-CAM map (ReLU of :attr:`raw`), ``(1, 1, x, y, z)``."""
        return torch.relu(self.raw)


def layer_gradcam(model: nn.Module, module: nn.Module, inputs: torch.Tensor) -> LayerCam:
    """Grad-CAM of ``model``'s scalar output at ``module`` (Captum's ``LayerGradCam`` formula).

    Args:
        model: Input ``(1, C, X, Y, Z)`` -> ``(1,)`` (a :class:`~brainmri.explain.targets.ScalarModel`).
        module: The hooked layer; it must run once per forward pass.
        inputs: The input, requiring gradients.

    Returns:
        The :class:`LayerCam`.

    Raises:
        BrainmriError: The layer did not run, or ran more than once (a shared module).
    """
    outputs: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda mod, args, out: outputs.append(out))
    try:
        score = model(inputs)
    finally:
        handle.remove()
    if len(outputs) != 1 or not torch.is_tensor(outputs[0]):
        raise BrainmriError(
            f"the Grad-CAM layer ran {len(outputs)} times in one forward pass: choose a layer "
            "that runs once (brainmri-explain layers RUN)"
        )
    acts = outputs[0]
    grads = torch.autograd.grad(score.sum(), acts)[0].float()
    acts = acts.detach().float()
    dims = tuple(range(2, grads.ndim))
    weights = grads.mean(dim=dims, keepdim=True)
    spread = float(grads.abs().mean(dim=dims).sum())
    balance = float(weights.abs().sum()) / spread if spread > 0 else float("nan")
    raw = (weights * acts).sum(dim=1, keepdim=True)
    return LayerCam(raw.detach(), balance)
