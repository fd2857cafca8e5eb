"""The ``age`` task: brain-age regression with L1, MSE or SFCN's soft-label loss."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from brainmri.core.metrics import mae, regression_metrics
from brainmri.core.tasks import Task

from .bias import apply_bias, fit_bias
from .defaults import BRAIN_GRID_REASON, TRAIN_DEFAULTS
from .losses import LOSSES, age_bins, expected_age, soft_label_loss


class AgeTask(Task):
    """Age in years from a T1 scan.

    Task options: ``loss`` (``l1``, ``mse`` or ``soft``) and ``soft_sigma`` (years). L1/MSE
    networks predict the age standardised with the training cohort's mean and std (stored in
    the run); soft-label networks predict a distribution over 1-year bins spanning the
    cohort's ages, whose mean is the prediction. With ``bias_correction`` a linear age-bias
    correction fitted on the validation split is stored in calibration.json and applied to
    ``pred_age``; without it (the default) the fit is recorded but not applied: on the real
    IXI-HH cross-validation a correction fitted on ~20 validation subjects made the held-out
    MAE worse (9.8 -> 12.0 y).
    """

    name = "age"
    target = "age"
    package = "brainmri-regress"
    default_arch = "vt1"
    train_defaults = TRAIN_DEFAULTS
    brain_grid = True
    brain_grid_reason = BRAIN_GRID_REASON
    monitor = ("val_mae", "min")
    demo = ("vt1", {"loss": "mse"}, 2)

    def prepare(self, options: dict, train_subjects: list) -> dict:
        loss = options.get("loss") or "mse"
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        ages = np.array([s.age for s in train_subjects if s.age is not None], dtype=np.float64)
        if ages.size == 0:
            raise ValueError("no training subject has an age")
        config = {"loss": loss, "age_mean": float(ages.mean()), "age_std": float(max(ages.std(), 1.0)),
                  "bias_correction": bool(options.get("bias_correction", False))}
        if loss == "soft":
            config["bins"] = age_bins(ages).tolist()
            config["soft_sigma"] = float(options.get("soft_sigma") or 1.0)
        return config

    def reference_config(self) -> dict:
        """Task configuration for a raw reference (VT1) checkpoint: the output is the age."""
        return {"loss": "l1", "age_mean": 0.0, "age_std": 1.0}

    def out_features(self, task_config: dict) -> int:
        return len(task_config["bins"]) if task_config.get("loss") == "soft" else 1

    def model_options(self, arch: str, task_config: dict) -> dict:
        return {"head_key": "fc1"} if arch == "vt1" else {}

    def loss(self, outputs: torch.Tensor, target: torch.Tensor, task_config: dict) -> torch.Tensor:
        known = torch.isfinite(target)
        outputs, target = outputs[known], target[known].float()
        if task_config["loss"] == "soft":
            centres = torch.tensor(task_config["bins"], device=outputs.device)
            return soft_label_loss(outputs, target, centres, task_config.get("soft_sigma", 1.0))
        z = (target - task_config["age_mean"]) / task_config["age_std"]
        fn = F.l1_loss if task_config["loss"] == "l1" else F.mse_loss
        return fn(outputs[:, 0], z)

    def raw_age(self, outputs: torch.Tensor, task_config: dict) -> np.ndarray:
        """Uncorrected predicted ages ``(B,)``."""
        if task_config["loss"] == "soft":
            age = expected_age(outputs, torch.tensor(task_config["bins"]))
        else:
            age = outputs[:, 0].float() * task_config["age_std"] + task_config["age_mean"]
        return age.detach().cpu().numpy().astype(np.float64)

    def explain_target(self, outputs: torch.Tensor, task_config: dict):
        """Explain the age: the output of L1/MSE models, the expected age over the bins of soft-label ones."""
        if task_config.get("loss") == "soft" and task_config.get("bins") is not None:
            centres = torch.tensor(task_config["bins"], dtype=torch.float32)
            return "age (expected over soft-label bins)", lambda o: expected_age(o, centres)
        return "age", lambda o: o[:, 0]

    def decode(self, outputs: torch.Tensor, task_config: dict, calibration: dict | None = None) -> dict:
        raw = self.raw_age(outputs, task_config)
        correction = (calibration or {}).get("age_bias")
        return {"pred_age": apply_bias(raw, correction), "pred_age_uncorrected": raw}

    def metrics(self, records: list[dict], task_config: dict, n_boot: int = 1000, seed: int = 0) -> dict:
        y = np.array([r["target"] for r in records], dtype=np.float64)
        pred = np.array([r["pred_age"] for r in records], dtype=np.float64)
        raw = np.array([r.get("pred_age_uncorrected", r["pred_age"]) for r in records], dtype=np.float64)
        out = regression_metrics(y, pred, n_boot=n_boot, seed=seed)
        if not np.allclose(pred, raw):
            out["before_bias_correction"] = regression_metrics(y, raw, n_boot=n_boot, seed=seed)
        out["mean_age_predictor_mae"] = mae(y, np.full_like(y, task_config.get("age_mean", float(np.mean(y)))))
        return out

    def no_better_than_trivial(self, metrics: dict) -> str | None:
        error, trivial = metrics.get("mae", {}).get("value"), metrics.get("mean_age_predictor_mae")
        if error is None or trivial is None or not error >= 0.99 * trivial:  # within 1%: float32 ages
            return None
        return f"MAE {error:.2f} y is no better than always predicting the training mean age ({trivial:.2f} y)"

    def calibrate(self, val_records: list[dict], task_config: dict) -> dict | None:
        known = [r for r in val_records if r["target"] is not None]
        correction = fit_bias([r["target"] for r in known],
                              [r.get("pred_age_uncorrected", r["pred_age"]) for r in known])
        if not task_config.get("bias_correction", True):  # runs before the option existed applied it
            return {"age_bias": None, "age_bias_fitted_not_applied": correction}
        return {"age_bias": correction}

    def demo_report(self, out, runs, rows) -> list[str]:
        from .demo import demo_report

        return demo_report(out, runs, rows)

    def report_sections(self, run, figures_dir) -> list:
        from .report import report_sections

        return report_sections(run, figures_dir)

    def describe(self, record: dict, target=None) -> dict:
        if target is None:
            return {}
        return {"true_age": float(target), "brain_age_gap": float(record["pred_age"]) - float(target)}


#: The registered task object (entry point ``age`` in group ``brainmri.tasks``).
TASK = AgeTask()
