"""The task registry: each task package registers a :class:`Task` under ``brainmri.tasks``.

A run's ``config.json`` records its ``task`` (registry name, e.g. ``sex``) and model; generic
tooling (``explain``, the training engine, ``load_run``) reaches models only through here, so
a package such as brainmri-explain works with whichever task packages are installed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .errors import BrainmriError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch
    from torch import nn

    from .pipeline import GridBatch, PipelineConfig
    from .predictor import Predictor

#: Entry point group of task packages.
GROUP = "brainmri.tasks"


class Task:
    """What a task package tells the engine: targets, models, loss, metrics, predictions.

    Subclasses set the class attributes and override the methods they need. Every method
    takes the run's ``task_config`` (JSON data made by :meth:`prepare` and stored in
    config.json under ``task_config``) so a saved run is rebuilt exactly.

    Attributes:
        name: Registry name (``sex``, ``age``).
        target: Key of the target in a loader batch's ``targets`` (or ``labels``).
        package: Distribution that provides the task (for messages).
        architectures: ``--arch`` choices.
        default_arch: ``--arch`` default.
        monitor: ``(metric, "min"|"max")`` picking the best checkpoint and early stopping.
        with_labels: Whether samples need label maps (segmentation).
        train_defaults: TrainConfig values of the task's own (its ``train`` command's defaults;
            the Python ``train`` uses them when given no TrainConfig).
        augment: Changes to the ``default`` preset's augmentation that the task's cross-validation
            chose (``{"scale": 0.0}``); ``train`` applies them and prints ``augment_reason``. A
            preset such as vt1 keeps its own augmentation.
        augment_reason: Why, for the run log and config.json's ``plan``.
        brain_grid: Brain-only input (``--mask-dir``) gets a grid planned on the brain masks and
            centred on each mask's bounding box (``centre="mask_box"``), where the task's
            cross-validation chose it; otherwise the head's field of view is planned, as for
            full heads. ``train`` prints ``brain_grid_reason``. Default preset only.
        brain_grid_reason: Why, for the run log and config.json's ``plan``.
        brain_train_defaults: TrainConfig values that replace ``train_defaults`` for brain-only
            input (``--mask-dir``, default preset) where the task's cross-validation chose
            otherwise for it (``{"epochs": 40}``); the task's ``train`` command leaves these
            options unset and ``train`` fills them, printing ``brain_train_reason``.
        brain_train_reason: Why, for the run log and config.json's ``plan``.
        demo: ``(arch, task options, batch size)`` of the tasks demo
            (:func:`brainmri.core.training.demo.demo_tasks`); None: not in the demo.
    """

    name: str = ""
    target: str = ""
    package: str = ""
    architectures: tuple[str, ...] = ("vt1", "resnet3d", "sfcn")
    default_arch: str = "resnet3d"
    monitor: tuple[str, str] = ("val_loss", "min")
    with_labels: bool = False
    train_defaults: Mapping[str, Any] = MappingProxyType({})
    augment: Mapping[str, Any] = MappingProxyType({})
    augment_reason: str = ""
    brain_grid: bool = False
    brain_grid_reason: str = ""
    brain_train_defaults: Mapping[str, Any] = MappingProxyType({})
    brain_train_reason: str = ""
    demo: tuple[str, dict, int] | None = None

    def train_defaults_for(self, brain_only: bool) -> dict[str, Any]:
        """The task's TrainConfig values for this input: ``brain_train_defaults`` over
        ``train_defaults`` for brain-only input (``--mask-dir`` with the default preset)."""
        return {**self.train_defaults, **(self.brain_train_defaults if brain_only else {})}

    # Data ---------------------------------------------------------------------------------
    def has_target(self, subject) -> bool:
        """Whether a dataset subject can be used for training/evaluation (its target is known)."""
        return getattr(subject, self.target, None) is not None

    def prepare(self, options: dict[str, Any], train_subjects: list) -> dict[str, Any]:
        """The task configuration (loss, target scaling...) from CLI options and training subjects."""
        return dict(options)

    def reference_config(self) -> dict[str, Any]:
        """The task configuration of a raw reference (VT1) checkpoint, which has no run folder.

        Raises:
            BrainmriError: The task has no reference checkpoints.
        """
        raise BrainmriError(f"the {self.name} task has no reference checkpoints: give a run folder")

    def target_tensor(self, batch: dict, grid: GridBatch, task_config: dict) -> torch.Tensor:
        """Targets of a loader batch as a tensor on the grid's device."""
        return batch["targets"][self.target].to(grid.image.device)

    # Model --------------------------------------------------------------------------------
    def out_features(self, task_config: dict) -> int:
        """Size of the network's head."""
        raise NotImplementedError

    def model_options(self, arch: str, task_config: dict) -> dict[str, Any]:
        """Architecture keyword arguments (e.g. the VT1 head key matching reference checkpoints)."""
        return {}

    def build_model(self, model_config: dict) -> nn.Module:
        """The network described by config.json's ``model`` entry (``arch``, ``out_features``, ``options``)."""
        from .models import build_model

        return build_model(model_config["arch"], int(model_config["out_features"]), **model_config.get("options", {}))

    def predictor(self, model: nn.Module, pipeline_config: PipelineConfig, task_config: dict,
                  device=None) -> Predictor:
        """How ``predict`` feeds ``model`` one scan (``explain`` attributes exactly that input).

        Args:
            model: The trained network.
            pipeline_config: The run's pipeline.
            task_config: The run's task configuration.
            device: Where inputs are made (default: the model's device).

        Returns:
            A :class:`~brainmri.core.predictor.Predictor`; the default feeds the pipeline's grid.
        """
        from .pipeline import Pipeline
        from .predictor import Predictor

        device = device if device is not None else next(model.parameters()).device
        return Predictor(Pipeline(pipeline_config, device=device))

    def network_input_shape(self, pipeline_config: PipelineConfig, task_config: dict) -> tuple[int, ...]:
        """Spatial shape ``(X, Y, Z)`` of one network input (``export --format onnx`` traces this).

        Default: the pipeline's grid. A task that feeds windows of the grid (segmentation's
        sliding window) returns the window.
        """
        return tuple(int(n) for n in pipeline_config.shape)

    def explain_target(self, outputs: torch.Tensor, task_config: dict) -> tuple[str, Any] | None:
        """The scalar ``explain`` attributes, when the task knows better than the output's shape.

        Args:
            outputs: Network outputs on the explained input, ``(1, K)`` or ``(1, K, X, Y, Z)``.
            task_config: The run's task configuration.

        Returns:
            ``(label, reduce)`` with ``reduce`` mapping outputs ``(B, ...)`` to ``(B,)``
            (differentiably), or None: explain picks a class logit (classification) or the
            logits inside the predicted region (segmentation).
        """
        return None

    def gradcam_layer(self, arch: str) -> str:
        """Name of the module Grad-CAM should hook by default (the last convolutional stage).

        VT1: ``instancenorm4``, not ``conv4``: instance normalisation right after ``conv4``
        makes Grad-CAM's channel weights at ``conv4`` zero (the map was ~1e-10, all zero
        after its ReLU).
        """
        return {"vt1": "instancenorm4", "resnet3d": "layer4", "sfcn": "feature_extractor.4"}.get(arch, "")

    # Training and outputs -----------------------------------------------------------------
    def loss(self, outputs: torch.Tensor, target: torch.Tensor, task_config: dict) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, outputs: torch.Tensor, task_config: dict,
               calibration: dict | None = None) -> dict[str, np.ndarray]:
        """Network outputs ``(B, out_features)`` -> named per-sample predictions (arrays of ``B``)."""
        raise NotImplementedError

    def metrics(self, records: list[dict], task_config: dict, n_boot: int = 1000, seed: int = 0) -> dict:
        """Metrics of prediction records (each has ``target`` and :meth:`decode`'s fields)."""
        raise NotImplementedError

    def summary(self, metrics: dict) -> dict[str, float]:
        """Flat ``name -> number`` of the metrics worth logging per epoch."""
        return {k: v["value"] for k, v in metrics.items() if isinstance(v, dict) and "value" in v}

    def calibrate(self, val_records: list[dict], task_config: dict) -> dict | None:
        """Post-processing fitted on the validation split (stored as calibration.json), or None."""
        return None

    def no_better_than_trivial(self, metrics: dict) -> str | None:
        """Why :meth:`metrics` are no better than the task's trivial baseline (always the mean
        age, always one class), or None; ``evaluate`` warns with it."""
        return None

    def describe(self, record: dict, target: Any = None) -> dict:
        """Extra columns of a ``predict`` row: words for class codes (``pred_sex_label``) and, when
        the true target is given, e.g. the brain-age gap. A ``<name>_label`` column is shown in
        place of ``<name>`` in the printed table (:func:`brainmri.core.wording.table`)."""
        return {}

    def demo_report(self, out: Path, runs: dict[str, Path], rows: dict[str, list[dict]]) -> list[str]:
        """The task's own section of the tasks demo's report.md (figures, notes), as Markdown lines.

        Args:
            out: The demo folder (figures go there; links are relative to it).
            runs: Run folder per variant (``full head``, ``brain only``).
            rows: The test split's rows of each run's predictions.csv, per variant.
        """
        return []

    def report_sections(self, run, figures_dir: Path) -> list:
        """The task's own sections of the run's ``report.html`` (ROC, age plot, per-case Dice...).

        Args:
            run: The :class:`~brainmri.core.training.RunDir` (read predictions.csv, metrics.json).
            figures_dir: Where the figures go (the report's picture folder).

        Returns:
            :class:`brainmri.core.report.Section` objects (default: none).
        """
        return []


#: Tasks registered in this process by :func:`register_task` (tests, notebooks).
_REGISTERED: dict[str, Task] = {}


#: Fewest subjects on which a model is judged against its trivial baseline
#: (:func:`trivial_verdict`): on fewer, chance alone decides (the demo's 2-subject splits).
TRIVIAL_MIN_SUBJECTS = 10


def trivial_verdict(task: Task, metrics: dict) -> str | None:
    """:meth:`Task.no_better_than_trivial` on metrics of at least :data:`TRIVIAL_MIN_SUBJECTS`
    subjects, else None; ``evaluate``'s warning and MODEL_CARD.md both ask here."""
    n = metrics.get("n")
    if not isinstance(n, int) or n < TRIVIAL_MIN_SUBJECTS:
        return None
    return task.no_better_than_trivial(metrics)


def _entry_points():
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def register_task(task: Task) -> Task:
    """Make ``task`` available to :func:`get_task` (and ``load_run``) in this process.

    For tasks that no installed package provides: core's own tests register a tiny test task
    (:func:`brainmri.core.testing.register_test_task`), a notebook its experiment.

    Returns:
        ``task``.
    """
    _REGISTERED[task.name] = task
    return task


def available_tasks() -> list[str]:
    """Names of the tasks provided by the installed packages (and registered in this process)."""
    return sorted(set(_entry_points()) | set(_REGISTERED))


def get_task(name: str) -> Task:
    """The registered task called ``name``.

    Raises:
        BrainmriError: No installed package provides it (the message lists what is installed).
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    eps = _entry_points()
    if name not in eps:
        have = ", ".join(available_tasks()) or "none"
        raise BrainmriError(
            f"task {name!r} is not installed (installed tasks: {have}); install the package that provides it, "
            "e.g. brainmri-classify (sex), brainmri-regress (age) or brainmri-segment"
        )
    task = eps[name].load()
    return task() if isinstance(task, type) else task


def load_run(run_dir: str | os.PathLike, device="cpu", checkpoint: str = "best"):
    """Rebuild a trained model from a run folder (or its ``.bmri`` export) through the registry.

    Args:
        run_dir: The folder ``train`` wrote, a ``.bmri`` file from ``export``
            (:mod:`brainmri.core.export`), or its URL with ``#sha256=...``.
        device: Where to put the model (``auto``, ``cpu``, ``cuda``...).
        checkpoint: ``best`` (falls back to ``last`` when absent) or ``last``.

    Returns:
        ``(task, model, pipeline_config, config)``: the :class:`Task`, the network in eval
        mode on ``device`` with the checkpoint's weights, the :class:`PipelineConfig` and the
        run's config.json as a dict (``config["calibration"]`` holds calibration.json, if any).
    """
    from .devices import resolve_device
    from .export import BmriModel, resolve_model
    from .pipeline import PipelineConfig
    from .training.checkpoints import load_checkpoint
    from .training.rundir import RunDir

    run_dir = resolve_model(run_dir)
    if run_dir.is_file():  # a .bmri (refused in one line otherwise); it holds the checkpoint chosen at export
        return BmriModel(run_dir).build(device)
    run = RunDir(run_dir).require()
    config = run.read_config()
    task = get_task(config["task"])
    model = task.build_model(config["model"])
    path = run.best_checkpoint if checkpoint == "best" and run.best_checkpoint.is_file() else run.last_checkpoint
    state = load_checkpoint(path)
    try:
        model.load_state_dict(state["model"], strict=True)
    except (KeyError, RuntimeError) as exc:
        raise BrainmriError(f"{path}: weights do not match the run's model ({str(exc).splitlines()[0]})") from None
    model.to(resolve_device(device)).eval()
    config = dict(config)
    config["calibration"] = run.read_calibration()
    return task, model, PipelineConfig.from_dict(config["pipeline"]), config
