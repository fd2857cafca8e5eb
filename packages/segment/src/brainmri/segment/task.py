"""The ``hippocampus`` task: what the core's registry and training engine need to know.

Registered as entry point ``hippocampus`` in group ``brainmri.tasks``; ``load_run`` rebuilds
a segmentation run's network through :meth:`HippocampusTask.build_model`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brainmri.core.geometry import as_triple
from brainmri.core.tasks import Task

from .labels import dataset_labels, task_classes

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Default task options (``--loss``, ``--patch-size``...), stored in config.json's ``task_config``.
DEFAULTS: dict[str, Any] = {
    "loss": "dice_ce",
    "class_weights": None,
    "patch_size": [96, 96, 96],
    "inference_roi": None,
    "patches_per_scan": 2,
    "foreground_fraction": 0.8,
    "overlap": None,
    "tta": "flip-x",
    "largest_component": True,
}


class HippocampusTask(Task):
    """Hippocampus segmentation: 3 classes (0 background, 1 left, 2 right; MSD: anterior/posterior).

    Task options: ``loss`` (``dice``, ``ce``, ``dice_ce``), ``class_weights`` (3 numbers),
    ``patch_size`` (network input in voxels), ``inference_roi`` (sliding window; default the
    patch, or windows fitted to each scan for an unpadded network without InstanceNorm),
    ``patches_per_scan``, ``foreground_fraction``,
    ``overlap`` (None: 0 for an unpadded network without InstanceNorm, whose windows agree
    exactly, else 0.5), ``tta`` (``none``, ``flip-x``, ``all``), ``largest_component`` and
    ``dataset`` (``adni``/``msd``: class names and the left/right pair swapped by flips).
    """

    name = "hippocampus"
    target = "labels"
    package = "brainmri-segment"
    architectures = ("vt1-unet", "unet")
    default_arch = "vt1-unet"
    monitor = ("val_dice", "max")
    with_labels = True

    def has_target(self, subject) -> bool:
        return subject.label is not None or bool(subject.label_parts)

    def prepare(self, options: dict, train_subjects: list) -> dict:
        cfg = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
        classes, pairs = dataset_labels(cfg.get("dataset", "adni"))
        cfg.setdefault("classes", {str(k): v for k, v in classes.items()})  # as config.json stores them
        cfg.setdefault("lr_pairs", [list(p) for p in pairs])
        for key in ("patch_size", "inference_roi"):
            size = cfg[key]
            if size is not None:
                cfg[key] = list(as_triple(size, int))
        if cfg["class_weights"] is not None:
            cfg["class_weights"] = [float(w) for w in cfg["class_weights"]]
            if len(cfg["class_weights"]) != len(cfg["classes"]) + 1:
                raise ValueError(f"give {len(cfg['classes']) + 1} class weights (background first)")
        return cfg

    def target_tensor(self, batch: dict, grid, task_config: dict) -> torch.Tensor:
        return grid.labels.to(grid.image.device)

    def out_features(self, task_config: dict) -> int:
        return len(task_classes(task_config)) + 1

    def build_model(self, model_config: dict):
        from .models import build_segmentation_model

        return build_segmentation_model(
            model_config["arch"], int(model_config["out_features"]), **model_config.get("options", {})
        )

    def predictor(self, model, pipeline_config, task_config: dict, device=None):
        """The whole scan on the grid covering it, as ``predict`` feeds it (:class:`.inference.WholeScanPredictor`)."""
        from .inference import Segmenter, WholeScanPredictor

        return WholeScanPredictor(Segmenter(model, pipeline_config, task_config, device=device))

    def network_input_shape(self, pipeline_config, task_config: dict) -> tuple[int, ...]:
        """The sliding window (``inference_roi``, default the training patch): ONNX exports the
        network on one window; the sliding window itself stays in Python."""
        return tuple(int(n) for n in (task_config.get("inference_roi") or task_config["patch_size"]))

    def gradcam_layer(self, arch: str) -> str:
        return {"vt1-unet": "down.2", "unet": "net.encoder.layer4"}.get(arch, "")

    def loss(self, outputs: torch.Tensor, target: torch.Tensor, task_config: dict) -> torch.Tensor:
        from .losses import segmentation_loss

        return segmentation_loss(outputs, target, task_config.get("loss", "dice_ce"), task_config.get("class_weights"))

    def decode(self, outputs, task_config: dict, calibration: dict | None = None) -> dict:
        """Label maps from logits ``(B, K, X, Y, Z)`` (argmax)."""
        return {"labels": outputs.argmax(1).cpu().numpy()}

    def metrics(self, records: list[dict], task_config: dict, n_boot: int = 1000, seed: int = 0) -> dict:
        """Mean +- sd and 95% bootstrap interval of per-subject segmentation metrics (records from :mod:`.evaluate`)."""
        from .metrics import summarise

        return summarise(records, n_boot=n_boot, seed=seed)

    def report_sections(self, run, figures_dir) -> list:
        from .report import report_sections

        return report_sections(run, figures_dir)

    def summary(self, metrics: dict) -> dict[str, float]:
        return {k: v["mean"] for k, v in metrics.items() if isinstance(v, dict) and "mean" in v}


#: The registered task object (entry point ``hippocampus`` in group ``brainmri.tasks``).
TASK = HippocampusTask()
