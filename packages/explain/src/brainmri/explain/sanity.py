"""Model-parameter randomisation test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

The network's layers are re-initialised one after another from the output down (cascading
randomisation); after each step the map is computed again and compared with the trained
network's map by Spearman rank correlation. A method whose map survives the destruction of
all the weights (like an edge detector on the input) explains the input, not the model: it
is flagged.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

#: Modules that re-initialise as one step: a convolution or linear layer and the
#: normalisation layers that follow it.
_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose3d, nn.Linear)


@dataclass
class SanityStep:
    """One step of the cascade.

    Attributes:
        randomized: Names of the modules re-initialised at this step.
        spearman: Rank correlation of the map with the trained network's map (NaN-free: a
            constant map counts as 0).
        note: Anything worth knowing (``constant map``).
    """

    randomized: list[str]
    spearman: float
    note: str = ""


@dataclass
class SanityReport:
    """Result of :func:`cascading_randomization`.

    Attributes:
        steps: One :class:`SanityStep` per step, top (head) first; each step keeps the
            earlier randomisations (cumulative).
        threshold: Absolute correlation above which the fully randomised map counts as unchanged.
        flagged: True when the map of the fully randomised network still correlates with the
            trained network's map above ``threshold``: the map does not depend on the weights.
    """

    steps: list[SanityStep] = field(default_factory=list)
    threshold: float = 0.9

    @property
    def final_spearman(self) -> float:
        """Correlation after every layer was re-initialised."""
        return self.steps[-1].spearman if self.steps else float("nan")

    @property
    def flagged(self) -> bool:
        return bool(self.steps) and abs(self.final_spearman) > self.threshold

    def to_dict(self) -> dict:
        """JSON-able summary."""
        steps = [{"randomized": s.randomized, "spearman": s.spearman, "note": s.note} for s in self.steps]
        return {"threshold": self.threshold, "flagged": self.flagged, "final_spearman": self.final_spearman,
                "steps": steps}


def randomization_groups(model: nn.Module, image: torch.Tensor) -> list[list[str]]:
    """Modules to re-initialise, grouped per layer, from the output down.

    Each group is a convolution/linear layer with the normalisation layers run after it;
    the order is the forward pass's (found with hooks on one pass), reversed.

    Args:
        model: The network.
        image: An input ``(1, C, X, Y, Z)``.

    Returns:
        Groups of module names, head first.
    """
    leaves = {name: m for name, m in model.named_modules()
              if name and any(True for _ in m.parameters(recurse=False))}
    order: list[str] = []
    handles = [m.register_forward_hook(lambda mod, i, o, n=name: order.append(n) if n not in order else None)
               for name, m in leaves.items()]
    try:
        with torch.no_grad():
            model(image)
    finally:
        for h in handles:
            h.remove()
    groups: list[list[str]] = []
    for name in order:
        if isinstance(leaves[name], _WEIGHTED) or not groups:
            groups.append([name])
        else:
            groups[-1].append(name)
    return groups[::-1]


def _reinitialise(module: nn.Module, generator_seed: int) -> None:
    torch.manual_seed(generator_seed)
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
        return
    with torch.no_grad():  # a module without its own initialiser: fresh Gaussian weights
        for p in module.parameters(recurse=False):
            p.normal_(0.0, 0.02)


def spearman(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> tuple[float, str]:
    """Spearman rank correlation of two maps (flattened); a constant map gives ``(0.0, note)``."""
    from scipy.stats import spearmanr

    x = np.asarray(a.detach().cpu() if torch.is_tensor(a) else a, dtype=np.float64).ravel()
    y = np.asarray(b.detach().cpu() if torch.is_tensor(b) else b, dtype=np.float64).ravel()
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0, "constant map"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = float(spearmanr(x, y).statistic)
    return (0.0, "undefined correlation") if math.isnan(rho) else (rho, "")


def cascading_randomization(
    model: nn.Module,
    image: torch.Tensor,
    explain: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    threshold: float = 0.9,
    seed: int = 0,
    groups: list[list[str]] | None = None,
    progress: bool = False,
) -> SanityReport:
    """Re-initialise a copy of the network top-down and compare each map with the trained one.

    Args:
        model: The trained network (left untouched: a deep copy is randomised).
        image: The explained input ``(1, C, X, Y, Z)``.
        explain: ``explain(network, image) -> map`` (any shape); called once on the trained
            network and once per step. Pin everything but the network (class, layer).
        threshold: Flag when ``|rho|`` of the fully randomised map exceeds this.
        seed: Seed of the re-initialisation.
        groups: Module-name groups in randomisation order (default :func:`randomization_groups`).
        progress: Progress bar on stderr.

    Returns:
        The :class:`SanityReport`.
    """
    import sys

    from tqdm.auto import tqdm

    reference = explain(model, image)
    copy_ = copy.deepcopy(model).eval()
    groups = groups if groups is not None else randomization_groups(copy_, image)
    modules = dict(copy_.named_modules())
    report = SanityReport(threshold=float(threshold))
    show = progress and sys.stderr.isatty()
    bar = tqdm(groups, desc="randomise", disable=not show, file=sys.stderr, leave=False)
    for step, group in enumerate(bar):
        for name in group:
            _reinitialise(modules[name], seed * 10_007 + step)
        rho, note = spearman(reference, explain(copy_, image))
        report.steps.append(SanityStep(list(group), rho, note))
    return report


def sanity_check_volume(
    model: nn.Module,
    pipeline,
    volume,
    mask=None,
    method: str = "gradcam",
    layer: str | None = None,
    target=None,
    threshold: float = 0.9,
    seed: int = 0,
    progress: bool = False,
    **options,
) -> SanityReport:
    """:func:`cascading_randomization` of one scan's map with an attribution method.

    The layer and the explained class are those of the trained network's map, pinned for
    every randomised copy.

    Args:
        model: The trained network (on the pipeline's device).
        pipeline: What feeds it: the run's ``Task.predictor`` or a
            :class:`~brainmri.core.pipeline.Pipeline`.
        volume: The scan; ``mask`` its brain mask (needed by brain-only pipelines).
        method, layer, target: As :func:`~brainmri.explain.attribution.attribute`.
        threshold, seed, progress: As :func:`cascading_randomization`.
        **options: More :func:`~brainmri.explain.attribution.attribute` arguments (``task``,
            ``task_config``, ``preferred_layer``, ``steps``, ``kind``).

    Returns:
        The :class:`SanityReport`.
    """
    from .attribution import attribute, prepare_model
    from .workflow import as_predictor

    prepare_model(model)
    image = as_predictor(pipeline).prepare(volume, mask).image
    trained = attribute(model, image, target=target, method=method, layer=layer, **options)
    options["kind"] = trained.target.kind
    pinned_target = trained.target.index

    def explain(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if net is model:
            return trained.grid_map
        return attribute(net, x, target=pinned_target, method=method, layer=trained.layer, **options).grid_map

    return cascading_randomization(model, image, explain, threshold=threshold, seed=seed, progress=progress)
