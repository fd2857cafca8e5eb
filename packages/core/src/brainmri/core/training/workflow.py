"""Train, evaluate and predict as library calls; the task CLIs are thin layers over these.

``train`` builds a run folder from a dataset (or continues one with ``resume=True``);
``evaluate`` fits the task's calibration on the validation split and writes metrics and
per-subject predictions; ``predict`` runs a run (or a raw reference checkpoint) on scans.
"""

from __future__ import annotations

import datetime
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import BrainmriError, DatasetError
from .planning import plan_from_subjects, plan_grid, say_plan
from .rundir import RunDir
from .trainer import TrainConfig

CONFIG_FORMAT = 1


def _versions(task) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import torch

    from .._version import __version__

    out = {"brainmri-core": __version__, "torch": torch.__version__}
    try:
        out[task.package] = version(task.package)
    except (PackageNotFoundError, ValueError):
        pass
    return out


def _subjects(task, data: dict) -> list:
    from ..datasets import load_dataset

    index = load_dataset(data["dataset"], data["root"], metadata=data.get("metadata"), mask_dir=data.get("mask_dir"))
    subjects = [s for s in index.subjects if task.has_target(s)]
    if data.get("mask_dir"):
        subjects = [s for s in subjects if s.mask is not None]
    if task.with_labels:
        subjects = [s for s in subjects if s.label is not None or s.label_parts]
    if not subjects:
        raise DatasetError(data["root"], f"no usable subject with a known {task.target} in this dataset")
    return subjects


def _datasets(task, config: dict, split, parts: Sequence[str], subjects: list | None = None) -> dict:
    from ..cache import ScanCache
    from ..loading import SubjectDataset
    from ..pipeline import PipelineConfig

    data = config["data"]
    subjects = subjects if subjects is not None else _subjects(task, data)
    pipeline = PipelineConfig.from_dict(config["pipeline"])
    cache = ScanCache(ram_bytes=int(data.get("cache_ram_bytes", 2**31)), disk_dir=data.get("cache_dir"))
    with_mask = pipeline.needs_mask or bool(data.get("mask_dir"))
    return {p: SubjectDataset(split.select(subjects, p), cache=cache, with_mask=with_mask,
                              with_labels=task.with_labels) for p in parts}


def _abs(path) -> str | None:
    return None if path is None else str(Path(path).resolve())


def train(
    task,
    out: str | os.PathLike,
    *,
    dataset: str | None = None,
    root: str | os.PathLike | None = None,
    metadata: str | os.PathLike | None = None,
    mask_dir: str | os.PathLike | None = None,
    arch: str | None = None,
    preset: str = "default",
    spacing=None,
    shape=None,
    train_config: TrainConfig | None = None,
    task_options: dict[str, Any] | None = None,
    model_options: dict[str, Any] | None = None,
    split_file: str | os.PathLike | None = None,
    val: float = 0.15,
    test: float = 0.15,
    device: str = "auto",
    resume: bool = False,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    evaluate_after: bool = True,
) -> RunDir:
    """Train a task's model and write the run folder.

    Args:
        task: The :class:`~brainmri.core.tasks.Task` (or its registry name).
        out: Run folder; must not hold a run unless ``resume``.
        dataset, root, metadata, mask_dir: Passed to :func:`brainmri.core.datasets.load_dataset`.
            ``mask_dir`` also turns on brain-only input (the scan multiplied by its mask).
        arch: Architecture (default: the task's).
        preset: Pipeline preset (``default`` or ``vt1``).
        spacing, shape: Overrides of the preset's grid.
        train_config: Engine hyper-parameters (default: the engine's, with the task's
            ``train_defaults``, as its ``train`` command).
        task_options: Task options (``loss``, ``threshold``...), see ``Task.prepare``.
        model_options: Extra architecture keyword arguments (``dropout``, ``width``...).
        split_file: A split JSON (``brainmri-core split``); default: a seeded stratified split.
        val, test: Split fractions when no split file is given.
        device: ``auto``, ``cpu``, ``cuda``...
        resume: Continue the run in ``out`` from its last checkpoint (all other settings
            come from its config.json).
        cache_dir: Disk cache of decoded scans (uncompressed arrays).
        progress: Progress bars and epoch lines on stderr.
        evaluate_after: Fit the calibration and evaluate the val and test splits at the end.

    Returns:
        The :class:`RunDir`.
    """
    from ..splits import Split, default_split
    from ..tasks import get_task

    task = get_task(task) if isinstance(task, str) else task

    def new_run():
        nonlocal train_config, arch
        if dataset is None or root is None:
            raise BrainmriError("train needs --dataset and --root (or --resume RUN)")
        # brain-only input may have its own cross-validated values (Task.brain_train_defaults)
        brain_only = mask_dir is not None and preset == "default"
        defaults = task.train_defaults_for(brain_only)
        left = train_config.unset() if train_config else list(defaults)
        train_config = train_config or TrainConfig(**defaults)
        if train_config.unset():  # these tasks plan no schedule: theirs for this input, else the engine's
            train_config = replace(train_config, **{k: defaults.get(k, getattr(TrainConfig(), k))
                                                    for k in train_config.unset()})
        brain_trained = brain_only and any(k in left for k in task.brain_train_defaults)
        arch = arch or task.default_arch
        if arch not in task.architectures:
            raise BrainmriError(f"unknown architecture {arch!r} for task {task.name}; use one of "
                                f"{', '.join(task.architectures)}")
        data = {"dataset": dataset, "root": _abs(root), "metadata": _abs(metadata), "mask_dir": _abs(mask_dir),
                "split_file": _abs(split_file), "cache_dir": _abs(cache_dir)}
        subjects = _subjects(task, data)
        overrides = {k: v for k, v in (("spacing", spacing), ("shape", shape)) if v is not None}
        plan = None
        on_brain = brain_only and task.brain_grid  # brain-only input planned on the brain (Task.brain_grid)
        if preset == "default" and len(overrides) < 2:  # a preset such as vt1 keeps its own grid
            plan = plan_from_subjects(subjects, plan_grid, device, progress=progress, brain=on_brain,
                                      spacing=spacing, shape=shape)
            overrides.update(spacing=plan["spacing"], shape=plan["shape"])
        if mask_dir is not None:
            overrides["apply_mask"] = True
        if on_brain:
            overrides["centre"] = "mask_box"
        pipeline, reasons = task_pipeline(task, preset, **overrides)
        if on_brain:
            reasons.append(task.brain_grid_reason)
        if brain_trained:
            reasons.append(task.brain_train_reason)
        say_plan(reasons, progress)
        split = Split.load(split_file) if split_file else default_split(subjects, val, test, train_config.seed)
        train_subjects = split.select(subjects, "train")
        if not train_subjects:
            raise DatasetError(root, "the split leaves no training subject")
        try:
            task_config = task.prepare(dict(task_options or {}), train_subjects)
        except ValueError as exc:
            raise BrainmriError(str(exc)) from None
        model_config = {"arch": arch, "out_features": task.out_features(task_config),
                        "options": {**task.model_options(arch, task_config), **(model_options or {})}}
        config = run_config(task, arch, model_config, pipeline, preset, train_config, task_config, data)
        if plan is not None:
            config["plan"] = {**plan, "reasons": plan["reasons"] + reasons}
        return config, split, subjects

    def evaluate_run(path, dev):
        evaluate(path, splits=("val", "test"), device=dev, refit_calibration=True, progress=progress, report=False)

    return run_training(task, out, new_run, lambda data: _subjects(task, data), resume=resume, device=device,
                        progress=progress, evaluate_run=evaluate_run if evaluate_after else None)


def task_pipeline(task, preset: str, **overrides):
    """The preset's pipeline with ``overrides``; for the ``default`` preset, with the task's own
    augmentation (:attr:`~brainmri.core.tasks.Task.augment`).

    Returns:
        ``(PipelineConfig, reasons)``: the reasons are the task's, for the run log and ``plan``.
    """
    from ..pipeline import PipelineConfig

    pipeline = PipelineConfig.preset(preset, **overrides)
    if preset != "default" or not task.augment:
        return pipeline, []
    return replace(pipeline, augment=replace(pipeline.augment, **task.augment)), [task.augment_reason]


def run_config(task, arch: str, model_config: dict, pipeline, preset: str, train_config: TrainConfig,
               task_config: dict, data: dict) -> dict:
    """The config.json of a new run (DESIGN.md run directories); ``world_size`` is set at start."""
    return {
        "format": CONFIG_FORMAT, "task": task.name, "arch": arch, "model": model_config,
        "pipeline": pipeline.to_dict(), "preset": preset, "train": train_config.to_dict(),
        "task_config": task_config, "data": data, "versions": _versions(task),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def run_training(
    task,
    out: str | os.PathLike,
    new_run: Callable[[], tuple[dict, Any, list]],
    load_subjects: Callable[[dict], list],
    *,
    resume: bool = False,
    device: str = "auto",
    progress: bool = True,
    trainer_class=None,
    evaluate_run: Callable[[Path, Any], Any] | None = None,
) -> RunDir:
    """The life of a run folder, shared by every task: start or resume, train, evaluate.

    Args:
        task: The :class:`~brainmri.core.tasks.Task`.
        out: Run folder; must not hold a run that saved a checkpoint unless ``resume``.
        new_run: Builds ``(config, split, subjects)`` for a new run (see :func:`run_config`);
            called only when not resuming, on every process.
        load_subjects: ``config["data"] -> subjects`` when resuming.
        resume: Continue the run in ``out`` from its last checkpoint.
        device: ``auto``, ``cpu``, ``cuda``...
        progress: Progress bars and epoch lines on stderr.
        trainer_class: The engine's :class:`~brainmri.core.training.Trainer` or a subclass.
        evaluate_run: ``(run_path, device) -> ...`` run on the main process after training.
            Then ``RUN/report.html`` is written (:func:`brainmri.core.report.write_run_report`).

    Returns:
        The :class:`RunDir`.
    """
    import torch

    from ..devices import precision_note, resolve_device
    from ..pipeline import PipelineConfig
    from ..splits import Split
    from .distributed import barrier, init_distributed, shutdown
    from .modelcard import cohort_summary, write_run_documents
    from .trainer import Trainer

    run = RunDir(out)
    dist = init_distributed(resolve_device(device))
    try:
        if resume:
            config = run.read_config()
            if config.get("task") != task.name:
                raise BrainmriError(f"{run.path}: is a {config.get('task')!r} run, not {task.name!r}")
            subjects = load_subjects(config["data"])
            split = Split.load(run.split_path)
        else:
            # A folder whose run stopped before its first checkpoint (bad input found in epoch 1)
            # holds nothing to resume: it is started over instead of blocking both ways.
            if run.exists() and run.last_checkpoint.is_file():
                raise BrainmriError(f"{run.path}: already holds a run; use --resume to continue it or pick a new --out")
            config, split, subjects = new_run()
            config["world_size"] = dist.world_size
            config["cohort"] = cohort_summary(split, subjects)  # counts for MODEL_CARD.md
            if dist.is_main:
                run.write_config(config)
                split.save(run.split_path)
            barrier(dist)
        train_config = TrainConfig.from_dict(config["train"])
        sets = _datasets(task, config, split, ("train", "val"), subjects)
        torch.manual_seed(train_config.seed)
        model = task.build_model(config["model"])
        trainer = (trainer_class or Trainer)(
            task, model, PipelineConfig.from_dict(config["pipeline"]), run, sets["train"], sets["val"],
            train_config, config["task_config"], device=device, dist=dist, progress=progress)
        note = precision_note(dist.device, train_config.amp)
        if note:
            say_plan([note], progress)
        trainer.fit(resume=resume)
        if evaluate_run is not None and dist.is_main:
            evaluate_run(run.path, dist.device)
        if dist.is_main:
            write_run_documents(run.path)
            from ..report import write_run_report

            write_run_report(run.path, task)
        barrier(dist)
    finally:
        shutdown(dist)
    return run


def evaluate(run_dir, splits: Sequence[str] = ("test",), device="auto", n_boot: int = 1000,
             refit_calibration: bool = False, batch_size: int | None = None, progress: bool = True,
             report: bool = True) -> dict:
    """Metrics and per-subject predictions of a run on its splits.

    The task's calibration (e.g. the age-bias correction) is fitted on the validation split
    when the run has none yet (or ``refit_calibration``) and stored as calibration.json.

    Args:
        run_dir: The run folder.
        splits: Parts to evaluate (``train``, ``val``, ``test``).
        device: Where to run the model.
        n_boot: Bootstrap resamples for the 95% intervals.
        refit_calibration: Fit calibration.json again even if present.
        batch_size: Inference batch size (default: the training batch size).
        progress: Progress bars.
        report: Write ``RUN/report.html`` again (:func:`brainmri.core.report.write_run_report`).

    Returns:
        ``{split: metrics}``; also written to metrics.json and predictions.csv, and
        MODEL_CARD.md and methods.md are written again.
    """
    from ..export import resolve_model
    from ..loading import make_loader
    from ..pipeline import Pipeline
    from ..splits import Split
    from ..tasks import load_run, trivial_verdict
    from .inference import decode_records, predict_records

    run = RunDir(resolve_model(run_dir, folder=True)).require()  # a .bmri: its unpacked copy
    task, model, pipeline_config, config = load_run(run.path, device)
    pipeline = Pipeline(pipeline_config, device=next(model.parameters()).device)
    split = Split.load(run.split_path)
    calibration = None if refit_calibration else config.get("calibration")
    parts = list(dict.fromkeys(([] if calibration is not None else ["val"]) + list(splits)))
    sets = _datasets(task, config, split, parts)
    batch = batch_size or int(config["train"].get("batch_size", 4))
    tc = config["task_config"]
    raw = {p: predict_records(task, model, pipeline, make_loader(sets[p], batch_size=batch), tc,
                              progress=progress, desc=f"evaluate {p}") for p in parts}
    if calibration is None:
        val = [r for r in decode_records(task, raw["val"], tc) if r["target"] is not None]
        calibration = task.calibrate(val, tc) if val else None
        run.write_calibration(calibration)
    results = {}
    for p in splits:
        rows = decode_records(task, raw[p], tc, calibration)
        rows = [{**r, **task.describe(r, r["target"])} for r in rows]
        known = [r for r in rows if r["target"] is not None]
        metrics = task.metrics(known, tc, n_boot=n_boot) if known else {"n": 0}
        trivial = trivial_verdict(task, metrics)
        if trivial:
            warnings.warn(f"{run.path}: {p} split ({len(known)} subjects): {trivial}; check log.csv: did the "
                          "training loss fall?", stacklevel=2)
        run.update_metrics(p, metrics)
        run.update_predictions(p, rows)
        results[p] = metrics
    from .modelcard import write_run_documents

    write_run_documents(run.path)  # the card's metrics follow metrics.json
    if report:
        from ..report import write_run_report

        write_run_report(run.path, task)
    return results
