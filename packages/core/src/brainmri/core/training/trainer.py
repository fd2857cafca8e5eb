"""The training engine every task shares (classify, regress, segment).

AdamW, a cosine or plateau learning-rate schedule, bf16 autocast on CUDA, gradient
accumulation, early stopping on a validation metric, atomic ``last``/``best`` checkpoints,
exact resume, seeding, per-epoch CSV/TensorBoard logs and DistributedDataParallel when
launched by ``torchrun`` (rank 0 writes; validation records are gathered from every rank).
"""

from __future__ import annotations

import contextlib
import math
import resource
import sys
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch

from ..devices import autocast_context
from ..loading import make_loader
from ..pipeline import Pipeline, PipelineConfig
from .artifacts import apply_mri_artifacts
from .checkpoints import load_checkpoint, model_state, save_checkpoint
from .distributed import DistInfo, barrier, init_distributed, reduce_sums
from .inference import predict_records, records_loss
from .logging import RunLogger
from .rundir import RunDir

#: TrainConfig fields a task may leave to its plan (None).
PLANNABLE = ("epochs", "batch_size", "lr", "patience", "val_every")


@dataclass
class TrainConfig:
    """Hyper-parameters of the engine (saved in config.json under ``train``).

    ``epochs``, ``batch_size``, ``lr``, ``patience`` and ``val_every`` may be None: left to a task that plans
    them (``brainmri-segment``'s schedule); they must be set before a :class:`Trainer` uses them.

    Args:
        epochs: Maximum number of epochs.
        batch_size: Samples per step on each process (global batch = batch_size x world size).
        lr: Peak learning rate of AdamW.
        weight_decay: AdamW weight decay.
        scheduler: ``cosine`` (to 0 over ``epochs``), ``plateau`` (halve on a stalled monitor) or ``none``.
        patience: Early stopping after this many epochs without improvement (0: never), judged
            at validated epochs.
        val_every: Validate every this many epochs and at the last one (the best checkpoint
            is chosen among validated epochs).
        accumulate: Micro-batches per optimiser step (gradient accumulation).
        amp: ``auto`` (bf16 autocast on CUDA only), ``bf16`` or ``off``.
        seed: Seed of initialisation, shuffling, augmentation and dropout.
        augment: Apply the pipeline's augmentation to training batches.
        num_workers: DataLoader worker processes (they only decode scans).
        monitor: Metric choosing the best checkpoint (``val_loss``, ``val_roc_auc``...); None:
            the task's default.
        monitor_mode: ``min`` or ``max``; None: the task's default for its metric.
        mri_artifacts: TorchIO's MRI artifacts on training batches (with ``augment``):
            ``True`` for :data:`~brainmri.core.training.artifacts.DEFAULT_PROBABILITIES`, or
            artifact name -> probability; stored as the probabilities. None: off.
    """

    epochs: int | None = 20
    batch_size: int | None = 4
    lr: float | None = 1e-3
    weight_decay: float = 1e-4
    scheduler: str = "cosine"
    patience: int | None = 10
    val_every: int | None = 1
    accumulate: int = 1
    amp: str = "auto"
    seed: int = 0
    augment: bool = True
    num_workers: int = 0
    monitor: str | None = None
    monitor_mode: str | None = None
    mri_artifacts: dict[str, float] | None = None

    def __post_init__(self) -> None:
        from .artifacts import parse_artifacts

        self.mri_artifacts = parse_artifacts(self.mri_artifacts)
        if self.scheduler not in ("cosine", "plateau", "none"):
            raise ValueError(f"scheduler must be cosine, plateau or none, got {self.scheduler!r}")
        if any(v is not None and v < 1 for v in (self.epochs, self.batch_size, self.accumulate, self.val_every)):
            raise ValueError("epochs, batch_size, accumulate and val_every must be at least 1")

    def unset(self) -> list[str]:
        """Names of the fields left to a plan (None)."""
        return [name for name in PLANNABLE if getattr(self, name) is None]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Trainer:
    """Fits a task's model on a training set, validating each epoch.

    Args:
        task: The :class:`~brainmri.core.tasks.Task`.
        model: The network (freshly built; weights come from the checkpoint on resume).
        pipeline_config: How scans become model inputs.
        run: The run folder (config.json must already be written by the caller).
        train_set: A :class:`~brainmri.core.loading.SubjectDataset` of training subjects.
        val_set: Validation subjects (None or empty: monitor the training loss).
        config: The :class:`TrainConfig`.
        task_config: The task configuration (``Task.prepare``).
        device: ``auto``, ``cpu``, ``cuda``...; under torchrun each rank takes its own GPU.
        dist: Distributed info (default: initialised from the torchrun environment).
        progress: Progress bars and one summary line per epoch on stderr (rank 0).
    """

    def __init__(self, task, model: torch.nn.Module, pipeline_config: PipelineConfig, run: RunDir, train_set,
                 val_set, config: TrainConfig, task_config: dict, device="auto", dist: DistInfo | None = None,
                 progress: bool = True):
        from ..devices import resolve_device

        if config.unset():
            raise ValueError(f"train config leaves {', '.join(config.unset())} to a plan that did not run")
        self.task = task
        self.config = config
        self.task_config = task_config
        self.run = run
        self.dist = dist if dist is not None else init_distributed(resolve_device(device))
        self.device = self.dist.device
        self.progress = progress and self.dist.is_main
        self.pipeline = Pipeline(pipeline_config, device=self.device)
        self.train_set = train_set
        self.val_set = val_set if val_set is not None and len(val_set) > 0 else None
        self.model = model.to(self.device)
        self.net = self._wrap(self.model)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.monitor, self.mode = self._monitor()
        self.scheduler = self._scheduler()
        self.state = {"epoch": 0, "best": math.inf if self.mode == "min" else -math.inf, "best_epoch": 0,
                      "bad_epochs": 0, "finished": False}

    # Setup --------------------------------------------------------------------------------
    def _wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        if not self.dist.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        if self.device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
            return DistributedDataParallel(model, device_ids=[self.device.index])
        return DistributedDataParallel(model)

    def _monitor(self) -> tuple[str, str]:
        name = self.config.monitor or self.task.monitor[0]
        if self.val_set is None and name.startswith("val_"):
            return "train_loss", "min"
        mode = self.config.monitor_mode or (self.task.monitor[1] if name == self.task.monitor[0] else
                                            ("min" if name.endswith(("loss", "mae", "rmse")) else "max"))
        return name, mode

    def _scheduler(self):
        cfg = self.config
        if cfg.scheduler == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=cfg.epochs)
        if cfg.scheduler == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, mode=self.mode, factor=0.5,
                                                              patience=max(1, cfg.patience // 3))
        return None

    def _loader(self, dataset, shuffle: bool):
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, num_replicas=self.dist.world_size, rank=self.dist.rank,
                                     shuffle=shuffle, seed=self.config.seed)
        loader = make_loader(dataset, batch_size=self.config.batch_size, sampler=sampler,
                             num_workers=self.config.num_workers, seed=self.config.seed)
        return loader, sampler

    # Resume -------------------------------------------------------------------------------
    def resume(self) -> int:
        """Load ``last.pt`` (model, optimiser, schedule, early-stopping state); returns its epoch."""
        state = load_checkpoint(self.run.last_checkpoint)
        self.model.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        for key in self.state:
            if key in state:
                self.state[key] = state[key]
        return int(self.state["epoch"])

    # Loop ---------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> dict:
        """Train until ``epochs`` or early stopping; returns the final state.

        Args:
            resume: Continue from ``RUN/checkpoints/last.pt`` (same config, same split).

        Returns:
            ``{"epoch", "best", "best_epoch", "bad_epochs", "finished", "monitor"}``.
        """
        start = self.resume() if resume else 0
        self._clock = {"start": time.perf_counter(), "first": start, "last": time.perf_counter()}
        logger = RunLogger(self.run, resume_epoch=start) if self.dist.is_main else None
        train_loader, train_sampler = self._loader(self.train_set, shuffle=True)
        val_loader = self._loader(self.val_set, shuffle=False)[0] if self.val_set is not None else None
        try:
            epoch = start
            while not self.state["finished"] and epoch < self.config.epochs:
                epoch += 1
                train_sampler.set_epoch(epoch)
                row = {"epoch": epoch, "lr": self.optimizer.param_groups[0]["lr"]}
                row.update(self._train_epoch(train_loader, epoch))
                validated = val_loader is None or epoch % self.config.val_every == 0 or epoch == self.config.epochs
                if val_loader is not None and validated:
                    row.update(self.validate(val_loader))
                self._end_epoch(epoch, row, logger, validated)
            if not self.state["finished"]:
                self.state["finished"] = True
                if self.dist.is_main:
                    self._save_last(epoch)
        finally:
            if logger is not None:
                logger.close()
            barrier(self.dist)
        return {**self.state, "monitor": self.monitor}

    def _train_epoch(self, loader, epoch: int) -> dict:
        cfg, dist = self.config, self.dist
        self.net.train()
        torch.manual_seed(cfg.seed * 1_000_003 + epoch * 7919 + dist.rank)
        self.optimizer.zero_grad(set_to_none=True)
        steps = len(loader)
        # Accumulated micro-batches are weighted by their size, so a group equals one large batch
        # even where the epoch's last batch is short.
        n_local = len(loader.sampler)
        sizes = [min(cfg.batch_size, n_local - i) for i in range(0, n_local, cfg.batch_size)]
        group_sizes = [sum(sizes[i:i + cfg.accumulate]) for i in range(0, len(sizes), cfg.accumulate)]
        loss_sum = count = wait = 0.0
        started = time.perf_counter()
        mark = started
        from tqdm.auto import tqdm

        bar = tqdm(loader, desc=f"epoch {epoch}/{cfg.epochs}", disable=not self.progress or not sys.stderr.isatty(),
                   file=sys.stderr, leave=False, unit="batch")
        for step, batch in enumerate(bar):
            wait += time.perf_counter() - mark
            rng = np.random.default_rng([cfg.seed, epoch, step, dist.rank])
            grid = self.pipeline(batch["samples"], augment=cfg.augment, rng=rng)
            if cfg.augment and cfg.mri_artifacts:  # after the resample, on the image only
                grid.image = apply_mri_artifacts(grid.image, grid.affine, cfg.mri_artifacts, rng)
            target = self.task.target_tensor(batch, grid, self.task_config)
            sync = (step + 1) % cfg.accumulate == 0 or step + 1 == steps
            ctx = self.net.no_sync() if dist.enabled and not sync else contextlib.nullcontext()
            with ctx:
                with autocast_context(self.device, cfg.amp):
                    out = self.net(grid.image.float())
                loss = self.task.loss(out.float(), target, self.task_config)
                (loss * (len(grid) / group_sizes[step // cfg.accumulate])).backward()
            if sync:
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            n = len(grid)
            loss_sum += float(loss.detach()) * n
            count += n
            if self.progress:
                bar.set_postfix(loss=f"{loss_sum / max(count, 1):.4g}")
            mark = time.perf_counter()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - started
        loss_sum, count, wait_sum = reduce_sums(dist, [loss_sum, count, wait])
        return {
            "train_loss": loss_sum / max(count, 1),
            "seconds": seconds,
            "samples_per_s": count / max(seconds, 1e-9),
            "loader_wait_s": wait_sum / dist.world_size / max(steps, 1),
            "peak_mem_mb": _peak_memory_mb(self.device),
        }

    def validate(self, loader) -> dict:
        """One pass over the validation loader: the ``val_*`` columns of the epoch's log row.

        A hook: a task's trainer overrides it (segmentation validates whole volumes).
        """
        records = predict_records(self.task, self.net, self.pipeline, loader, self.task_config, self.config.amp,
                                  self.dist, progress=self.progress, desc="validate")
        row = {"val_loss": records_loss(self.task, records, self.task_config)}
        from .inference import decode_records

        known = [r for r in decode_records(self.task, records, self.task_config) if r["target"] is not None]
        if known:
            metrics = self.task.metrics(known, self.task_config, n_boot=0)
            row.update({f"val_{k}": v for k, v in self.task.summary(metrics).items()})
        return row

    def _end_epoch(self, epoch: int, row: dict, logger: RunLogger | None, validated: bool = True) -> None:
        """Best checkpoint, schedule, early stopping and the log row; an epoch that was not
        validated (``val_every``) changes neither the best nor the plateau schedule."""
        value = row.get(self.monitor, float("nan"))
        improved = validated and math.isfinite(value) and (value < self.state["best"] if self.mode == "min" else
                                                           value > self.state["best"])
        if improved:
            self.state.update(best=float(value), best_epoch=epoch, bad_epochs=0)
        elif validated:
            self.state["bad_epochs"] = epoch - self.state["best_epoch"]  # epochs since the best
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if validated:
                self.scheduler.step(value if math.isfinite(value) else self.state["best"])
        elif self.scheduler is not None:
            self.scheduler.step()
        self.state["epoch"] = epoch
        patience = self.config.patience
        if epoch >= self.config.epochs or (validated and patience and self.state["bad_epochs"] >= patience):
            self.state["finished"] = True
        row["best"] = int(improved)
        if self.dist.is_main:
            logger.log(row)  # log first: a run killed before the checkpoint drops this row on resume
            if improved:
                save_checkpoint({"epoch": epoch, "model": model_state(self.net), "metric": float(value),
                                 "monitor": self.monitor}, self.run.best_checkpoint)
            self._save_last(epoch)
            if self.progress:
                shown = {k: v for k, v in row.items() if k.startswith(("train_loss", "val_"))}
                text = "  ".join(f"{k}={v:.4g}" for k, v in shown.items() if isinstance(v, float))
                stop = "  (early stop)" if self.state["finished"] and epoch < self.config.epochs else ""
                print(f"epoch {epoch}/{self.config.epochs}: {text}  {self._timing(epoch)}{stop}", file=sys.stderr,
                      flush=True)
        barrier(self.dist)

    def _timing(self, epoch: int) -> str:
        """``(12.3 s, ETA 4 min 05 s)``: this epoch's time and the rest at this session's mean pace."""
        from ..wording import duration

        now = time.perf_counter()
        clock = getattr(self, "_clock", {"start": now, "first": epoch - 1, "last": now})
        seconds, clock["last"] = now - clock["last"], now
        pace = (now - clock["start"]) / max(1, epoch - clock["first"])
        left = 0 if self.state["finished"] else self.config.epochs - epoch
        return f"({duration(seconds)}, ETA {duration(pace * left)})"

    def _save_last(self, epoch: int) -> None:
        save_checkpoint({
            **self.state,
            "epoch": epoch,
            "model": model_state(self.net),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "monitor": self.monitor,
        }, self.run.last_checkpoint)
