"""What is explained: one scalar per input, chosen from a network's outputs.

* classify (outputs ``(B, K)``): the logit of a class, by default the predicted one;
* regress (outputs ``(B, 1)``): the output; a task that knows better (soft-label age models:
  the expected age over the bins) says so through ``Task.explain_target``;
* segment (outputs ``(B, K, X, Y, Z)``): the sum of a class's logits inside the region the
  network predicts for that class on the explained scan (by default the foreground class
  with the largest predicted region).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from brainmri.core.errors import BrainmriError

#: Kinds of task outputs explain understands.
KINDS = ("classify", "regress", "segment")


def _task_target(outputs: torch.Tensor, task, task_config: dict | None):
    """``Task.explain_target``'s ``(label, reduce)``, or None (no task, or it leaves the choice here)."""
    if task is None or not hasattr(task, "explain_target"):
        return None
    return task.explain_target(outputs, task_config or {})


def infer_kind(outputs: torch.Tensor, task=None, task_config: dict | None = None) -> str:
    """The kind of a network's outputs: ``segment`` for maps, ``regress`` for one output or a
    task's own scalar (``Task.explain_target``), ``classify`` otherwise.

    Args:
        outputs: Network outputs ``(B, K)`` or ``(B, K, X, Y, Z)``.
        task: The registry's task (its ``with_labels`` marks segmentation), if known.
        task_config: The run's task configuration.
    """
    if outputs.ndim == 5 or bool(getattr(task, "with_labels", False)):
        return "segment"
    if outputs.ndim != 2:
        raise BrainmriError(f"cannot explain network outputs of shape {tuple(outputs.shape)}")
    if outputs.shape[1] == 1 or _task_target(outputs, task, task_config) is not None:
        return "regress"
    return "classify"


@dataclass
class Target:
    """A scalar to explain.

    Attributes:
        kind: ``classify``, ``regress`` or ``segment``.
        index: Class index (classify/segment), None for regression.
        label: Human-readable description (``class 1``, ``age``...).
        reduce: Maps network outputs to the explained scalar, ``(B, ...) -> (B,)``;
            differentiable.
        score: Its value on the explained input.
    """

    kind: str
    index: int | None
    label: str
    reduce: Callable[[torch.Tensor], torch.Tensor]
    score: float = float("nan")


class ScalarModel(nn.Module):
    """A network followed by a target's reduction: input ``(B, C, X, Y, Z)`` -> ``(B,)``.

    Being an ``nn.Module`` that holds the network, Captum's hooks (e.g. Guided Backprop's
    on ReLU modules) reach the network's layers through it. The target is chosen from the
    outputs of the first forward pass (which must be on the explained input), so choosing it
    costs no extra pass.

    Args:
        model: The network.
        choose: ``choose(outputs) -> Target``, called once on the first outputs (detached).
    """

    def __init__(self, model: nn.Module, choose: Callable[[torch.Tensor], Target]):
        super().__init__()
        self.model = model
        self._choose = choose
        self.target: Target | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = self.model(x)
        if self.target is None:
            self.target = self._choose(outputs.detach())
        return self.target.reduce(outputs)


def _parse_index(target, what: str) -> int | None:
    if target is None or (isinstance(target, str) and target.lower() in ("", "predicted", "auto")):
        return None
    try:
        return int(target)
    except (TypeError, ValueError):
        raise BrainmriError(f"--target must be a {what} index (an integer), got {target!r}") from None


def select_target(outputs: torch.Tensor, target=None, kind: str | None = None, task=None,
                  task_config: dict | None = None) -> Target:
    """The scalar to explain, given the network's outputs on the explained input.

    Args:
        outputs: Outputs on the explained input, ``(1, K)`` or ``(1, K, X, Y, Z)``.
        target: Class index (int or digits) for classify/segment; None or ``predicted``: the
            predicted class (classify) or the largest predicted foreground class (segment).
            Must be None for regression.
        kind: Force a kind; default :func:`infer_kind`.
        task: The registry's task, if known (its ``explain_target`` is used when it gives one).
        task_config: The run's task configuration.

    Returns:
        The :class:`Target`.

    Raises:
        BrainmriError: A class out of range, or a class asked of a regression.
    """
    kind = kind or infer_kind(outputs, task, task_config)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    outputs = outputs.detach()
    if kind == "regress":
        custom = _task_target(outputs, task, task_config)
        if custom is not None:
            label, reduce = custom
        else:

            def reduce(o):
                return o[:, 0]

            label = "output"
        if _parse_index(target, "class") is not None:
            raise BrainmriError(f"--target does not apply to regression: the {label} output is explained")
        return Target(kind, None, label, reduce, float(reduce(outputs)[0]))

    n_classes = int(outputs.shape[1])
    index = _parse_index(target, "class")
    if kind == "classify":
        index = int(outputs[0].argmax()) if index is None else index
        if not 0 <= index < n_classes:
            raise BrainmriError(f"--target {index} is out of range: the network has {n_classes} classes")

        def reduce(o):
            return o[:, index]

        label = f"class {index}" + (" (predicted)" if index == int(outputs[0].argmax()) else "")
        return Target(kind, index, label, reduce, float(outputs[0, index]))

    pred = outputs[0].argmax(dim=0)  # (X, Y, Z)
    if index is None:
        counts = torch.bincount(pred.flatten(), minlength=n_classes)
        counts[0] = 0
        index = int(counts.argmax()) if n_classes > 1 and int(counts.max()) > 0 else min(1, n_classes - 1)
    if not 0 <= index < n_classes:
        raise BrainmriError(f"--target {index} is out of range: the network has {n_classes} classes")
    region = pred == index
    voxels = int(region.sum())
    if voxels == 0:
        region = torch.ones_like(region)
        label = f"class {index} logits over the whole grid (no voxel predicted as class {index})"
    else:
        label = f"class {index} logits inside its predicted region ({voxels} voxels)"
    weight = region.to(outputs.dtype)[None]  # (1, X, Y, Z)

    def reduce(o):
        return (o[:, index] * weight.to(o.dtype)).sum(dim=(1, 2, 3))

    return Target(kind, index, label, reduce, float(reduce(outputs)[0]))
