"""The ``sex`` task: binary classification, class 0 male, 1 female."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from brainmri.core.metrics import classification_metrics
from brainmri.core.tasks import Task

from .defaults import AUGMENT, AUGMENT_REASON, BRAIN_TRAIN_DEFAULTS, BRAIN_TRAIN_REASON, TRAIN_DEFAULTS

#: Words for the sex codes (DESIGN.md: class 0 male, 1 female).
SEX_LABELS = {0: "male", 1: "female"}


class SexTask(Task):
    """Sex from a T1 scan: two logits, cross-entropy, p(female) as the prediction.

    Task options (``--threshold``): probability of female at or above which a scan is
    called female (0.5).
    """

    name = "sex"
    target = "sex"
    package = "brainmri-classify"
    default_arch = "vt1"
    train_defaults = TRAIN_DEFAULTS
    brain_train_defaults = BRAIN_TRAIN_DEFAULTS
    brain_train_reason = BRAIN_TRAIN_REASON
    augment = AUGMENT
    augment_reason = AUGMENT_REASON
    monitor = ("val_loss", "min")
    demo = ("vt1", {}, 4)

    def prepare(self, options: dict, train_subjects: list) -> dict:
        sexes = [s.sex for s in train_subjects if s.sex is not None]
        return {"threshold": float(options.get("threshold", 0.5)),
                "train_female_fraction": float(np.mean(sexes)) if sexes else None}

    def reference_config(self) -> dict:
        """Task configuration for a raw reference (VT1) checkpoint."""
        return {"threshold": 0.5}

    def out_features(self, task_config: dict) -> int:
        return 2

    def model_options(self, arch: str, task_config: dict) -> dict:
        return {"head_key": "fc"} if arch == "vt1" else {}

    def loss(self, outputs: torch.Tensor, target: torch.Tensor, task_config: dict) -> torch.Tensor:
        return F.cross_entropy(outputs, target.long(), ignore_index=-1)

    def decode(self, outputs: torch.Tensor, task_config: dict, calibration: dict | None = None) -> dict:
        prob = torch.softmax(outputs.float(), dim=1)[:, 1].cpu().numpy().astype(np.float64)
        threshold = float(task_config.get("threshold", 0.5))
        return {"prob_female": prob, "pred_sex": (prob >= threshold).astype(np.int64)}

    def metrics(self, records: list[dict], task_config: dict, n_boot: int = 1000, seed: int = 0) -> dict:
        y = np.array([r["target"] for r in records], dtype=int)
        p = np.array([r["prob_female"] for r in records], dtype=np.float64)
        return classification_metrics(y, p, threshold=float(task_config.get("threshold", 0.5)), n_boot=n_boot,
                                      seed=seed)

    def no_better_than_trivial(self, metrics: dict) -> str | None:
        balanced = metrics.get("balanced_accuracy", {}).get("value")
        if balanced is None or not balanced <= 0.5:  # NaN (one class only) says nothing
            return None
        return f"balanced accuracy {balanced:.2f} is no better than chance (0.5, e.g. always one class)"

    def demo_report(self, out, runs, rows) -> list[str]:
        from .demo import demo_report

        return demo_report(out, runs, rows)

    def report_sections(self, run, figures_dir) -> list:
        from .report import report_sections

        return report_sections(run, figures_dir)

    def describe(self, record: dict, target=None) -> dict:
        """``pred_sex_label`` (``female``/``male``) beside the 0/1 code; with a target, ``true_sex``,
        ``true_sex_label`` and ``correct``."""
        out = {"pred_sex_label": SEX_LABELS[int(record["pred_sex"])]}
        if target is None:
            return out
        return {**out, "true_sex": int(target), "true_sex_label": SEX_LABELS[int(target)],
                "correct": int(record["pred_sex"] == int(target))}


#: The registered task object (entry point ``sex`` in group ``brainmri.tasks``).
TASK = SexTask()
