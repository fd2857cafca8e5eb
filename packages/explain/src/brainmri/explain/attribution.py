"""Captum attribution maps of one input: Grad-CAM, Guided Grad-CAM, Integrated Gradients."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from .gradcam import LayerCam, layer_gradcam
from .layers import default_layer, get_layer
from .native import upsample_to_grid
from .targets import ScalarModel, Target, select_target

#: Attribution methods (``--method``).
METHODS = ("gradcam", "guided-gradcam", "integrated-gradients")


@dataclass
class Attribution:
    """An attribution map on the model's input grid.

    Attributes:
        grid_map: ``(1, 1, X, Y, Z)`` float32 map on the input grid, on the CPU. Grad-CAM is
            non-negative (ReLU of the weighted feature maps, as Selvaraju et al.); Guided
            Grad-CAM and Integrated Gradients are signed.
        layer_map: ``(1, 1, x, y, z)`` Grad-CAM at the layer's resolution (None for
            Integrated Gradients).
        method: One of :data:`METHODS`.
        layer: The hooked module's name (None for Integrated Gradients).
        target: What was explained.
        layer_cam: The Grad-CAM before its ReLU and its gradient balance (None for
            Integrated Gradients), for :mod:`~brainmri.explain.quality`.
    """

    grid_map: torch.Tensor
    layer_map: torch.Tensor | None
    method: str
    layer: str | None
    target: Target
    layer_cam: LayerCam | None = None


def prepare_model(model: nn.Module) -> nn.Module:
    """Put a network in eval mode with in-place activations turned off (in place; returned).

    Captum's hooks read layer outputs and ReLU gradients; an in-place ReLU that overwrites a
    hooked output breaks them, and turning it off changes no value.
    """
    for module in model.modules():
        if getattr(module, "inplace", False) is True:
            module.inplace = False
    return model.eval()


def attribute(
    model: nn.Module,
    image: torch.Tensor,
    target=None,
    method: str = "gradcam",
    layer: str | None = None,
    kind: str | None = None,
    task=None,
    task_config: dict | None = None,
    preferred_layer: str | None = None,
    steps: int = 32,
    internal_batch_size: int = 4,
) -> Attribution:
    """Explain one input of a network with a Captum method.

    Args:
        model: The network (eval mode, on the device of ``image``); see :func:`prepare_model`.
        image: Model input ``(1, C, X, Y, Z)`` (a :class:`GridBatch` image).
        target: Class index for classifiers and segmenters (default: the predicted class /
            the largest predicted foreground class); None for regression.
        method: ``gradcam``, ``guided-gradcam`` or ``integrated-gradients``.
        layer: Module hooked by the Grad-CAM methods (default: ``preferred_layer`` when the
            network has it, else the last convolutional block, see
            :func:`~brainmri.explain.layers.default_layer`).
        kind: ``classify``, ``regress`` or ``segment``; default inferred from the outputs.
        task: The registry's task, if known (helps :func:`~brainmri.explain.targets.infer_kind`).
        task_config: The run's task configuration.
        preferred_layer: The registry's suggestion (``task.gradcam_layer(arch)``).
        steps: Integration steps of Integrated Gradients.
        internal_batch_size: Integrated Gradients' steps per forward pass.

    Returns:
        The :class:`Attribution`.
    """
    from captum.attr import GuidedBackprop, IntegratedGradients

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if image.ndim != 5 or image.shape[0] != 1:
        raise ValueError(f"expected one input (1, C, X, Y, Z), got {tuple(image.shape)}")
    image = image.detach().float().clone()  # also turns an inference-mode tensor into a normal one
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(backward hooks|require gradients|requires_grad).*")
        scalar = ScalarModel(model, lambda outputs: select_target(outputs, target, kind, task, task_config))
        inputs = image.clone().requires_grad_(True)
        if method == "integrated-gradients":
            with torch.no_grad():
                scalar(image)  # IG's passes are on scaled inputs: choose the target on the input itself
            baseline = torch.full_like(image, float(image.min()))
            attr = IntegratedGradients(scalar).attribute(inputs, baselines=baseline, n_steps=int(steps),
                                                         internal_batch_size=int(internal_batch_size))
            grid = attr.detach().float().sum(1, keepdim=True).cpu()
            return Attribution(grid, None, method, None, scalar.target)
        if layer is None:
            layer = default_layer(model, tuple(image.shape), preferred_layer)
        module = get_layer(model, layer)
        layer_cam = layer_gradcam(scalar, module, inputs)
        cam = layer_cam.cam
        if method == "gradcam":
            grid = upsample_to_grid(cam, tuple(image.shape[2:]))
        else:
            # Guided Grad-CAM (Captum's GuidedGradCam with trilinear upsampling), reusing the
            # Grad-CAM above instead of computing it a second time.
            guided = GuidedBackprop(scalar).attribute(inputs).detach().float()
            grid = (guided * upsample_to_grid(cam, tuple(image.shape[2:]))).sum(1, keepdim=True)
    return Attribution(grid.cpu(), cam.cpu(), method, layer, scalar.target, layer_cam)
