"""The training schedule of the segment task: epochs, batch, patches a scan, learning rate,
early stopping and how often to validate.

Chosen by cross-validation on the shared real data (``benchmarks/accuracy``: the inner
validation split of fold 1's training folds, never a test fold), per kind of patch the
planner gives (scans seen whole, such as MSD's crops, or label-centred patches of larger
scans, such as whole heads) and per device. ``train`` prints the schedule with its evidence
and stores it in config.json (``train``, ``task_config`` and ``plan``); values the user gives
are kept and named as such.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The schedule's fields: TrainConfig's plannable ones and the task's ``patches_per_scan``.
FIELDS = ("epochs", "batch_size", "patches_per_scan", "lr", "patience", "val_every")

_GPU = "the CPU schedule run longer (the accuracy benchmark's full configuration), not yet cross-validated on a GPU"


@dataclass(frozen=True)
class Schedule:
    """Values of :data:`FIELDS` and where they come from."""

    epochs: int
    batch_size: int
    patches_per_scan: int
    lr: float
    patience: int
    val_every: int
    evidence: str


#: Schedules by (whole scans?, device kind).
SCHEDULES = {
    (True, "cpu"): Schedule(
        epochs=12,
        batch_size=2,
        patches_per_scan=2,
        lr=2e-3,
        patience=0,
        val_every=1,
        evidence="cross-validated on MSD Task04 crops: Dice 0.83 on fold 1's inner validation in 11 min on "
        "2 CPU cores (4 crops a step: 0.81); five folds: 0.849 / 0.844",
    ),
    (False, "cpu"): Schedule(
        epochs=16,
        batch_size=4,
        patches_per_scan=4,
        lr=2e-3,
        patience=0,
        val_every=4,
        evidence="cross-validated on IXI-HH heads with DLMUSE labels: Dice 0.866 on fold 1's inner validation "
        "(1 patch a head for 8 epochs: 0.80; 4 patches, 8 epochs: 0.82); validating 16 whole heads took 30 s "
        "an epoch against 21 s of training, and every 4th epoch keeps 0.863 (epoch 16); five folds: 0.876 / 0.869 "
        "in 46 min (every epoch: 0.877 / 0.872 in 79 min)",
    ),
    (True, "cuda"): Schedule(
        epochs=50, batch_size=2, patches_per_scan=2, lr=2e-3, patience=0, val_every=1, evidence=_GPU
    ),
    (False, "cuda"): Schedule(
        epochs=50, batch_size=4, patches_per_scan=4, lr=2e-3, patience=0, val_every=4, evidence=_GPU
    ),
}


def plan_schedule(whole: bool, kind: str, given: dict) -> tuple[dict, str]:
    """The schedule for scans seen ``whole`` (or label-centred patches) on a ``kind`` device.

    Args:
        whole: The planned patch holds the median scan.
        kind: ``cpu`` or ``cuda``.
        given: The user's values of :data:`FIELDS` (None: planned).

    Returns:
        ``(values, reason)``: every field of :data:`FIELDS`, and the line ``train`` prints.
    """
    schedule = SCHEDULES[bool(whole), kind]
    values = {f: given[f] if given.get(f) is not None else getattr(schedule, f) for f in FIELDS}
    planned = [f for f in FIELDS if given.get(f) is None]
    words = {
        "epochs": f"{values['epochs']} epoch" + ("s" if values["epochs"] != 1 else ""),
        "batch_size": f"batch {values['batch_size']}",
        "patches_per_scan": f"{values['patches_per_scan']} patches a scan",
        "lr": f"lr {values['lr']:g}",
        "patience": f"early stopping after {values['patience']} epochs" if values["patience"] else "no early stopping",
        "val_every": "validation every epoch"
        if values["val_every"] == 1
        else f"validation every {values['val_every']} epochs",
    }
    told = ", ".join(words[f] for f in FIELDS)
    if not planned:
        return values, f"schedule given: {told}"
    shape = "scans seen whole" if whole else "label-centred patches"
    kept = [f for f in FIELDS if f not in planned]
    note = f" ({', '.join('--' + f.replace('_', '-') for f in kept)} given)" if kept else ""
    return values, f"schedule {told}{note}: for {shape} on {kind.upper()}, {schedule.evidence}"
