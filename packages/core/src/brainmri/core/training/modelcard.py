"""``MODEL_CARD.md`` and ``methods.md`` of a run, written from its own files.

Every ``train`` ends by writing both, and ``evaluate`` writes them again after it rewrites
metrics.json, so they always describe the run folder beside them. The facts come from
config.json (data, cohort counts, pipeline, hyper-parameters, versions), split.json,
metrics.json, log.csv and the checkpoint files (their SHA-256). methods.md is a paragraph to
paste into a paper with the references of what the run used, as fMRIPrep writes for its
outputs.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_text_atomic
from .references import ARCHITECTURES, DATASETS, cited
from .rundir import RunDir

CARD_NAME = "MODEL_CARD.md"
METHODS_NAME = "methods.md"
PARTS = ("train", "val", "test")


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cohort_summary(split, subjects) -> dict:
    """Per split part: scans, subjects, sites, sexes and ages of the records (config.json ``cohort``)."""
    out = {}
    for part in PARTS:
        records = split.select(subjects, part)
        sites: dict[str, int] = {}
        for s in records:
            site = getattr(s, "site", None)
            if site:
                sites[site] = sites.get(site, 0) + 1
        ages = [float(s.age) for s in records if getattr(s, "age", None) is not None]
        sexes = [getattr(s, "sex", None) for s in records]
        out[part] = {
            "scans": len(records),
            "subjects": len({s.subject_id for s in records}),
            "sites": dict(sorted(sites.items())),
            "sex": {"male": sexes.count(0), "female": sexes.count(1), "unknown": sexes.count(None)},
            "age": {"min": min(ages), "max": max(ages), "mean": sum(ages) / len(ages)} if ages else None,
        }
    return out


@dataclass
class RunFacts:
    """What a run folder says about itself."""

    path: Path
    config: dict
    split: dict
    metrics: dict
    log: list[dict]
    weights: dict[str, dict]
    mask_tool: str | None

    @classmethod
    def read(cls, run: RunDir) -> RunFacts:
        config = run.read_config()
        split = json.loads(run.split_path.read_text(encoding="utf-8")) if run.split_path.is_file() else {}
        weights = {}
        for name, path in (("best", run.best_checkpoint), ("last", run.last_checkpoint)):
            if path.is_file():
                from .checkpoints import load_checkpoint

                state = load_checkpoint(path)
                n = sum(int(v.numel()) for k, v in state["model"].items() if _is_weight(k, v))
                weights[name] = {
                    "file": f"checkpoints/{path.name}",
                    "sha256": sha256(path),
                    "epoch": state.get("epoch"),
                    "metric": state.get("metric"),
                    "monitor": state.get("monitor"),
                    "parameters": n,
                }
        return cls(
            run.path,
            config,
            split,
            run.read_metrics(),
            run.read_csv(run.log_path),
            weights,
            _mask_tool(config.get("data", {}).get("mask_dir")),
        )


def _is_weight(name: str, value) -> bool:
    return value.is_floating_point() and "running_" not in name and not name.endswith("num_batches_tracked")


def _mask_tool(mask_dir) -> str | None:
    """``hdbet``/``deepbet`` when brainmri's skull-strip report sits beside the masks, ``user`` otherwise."""
    if not mask_dir:
        return None
    report = Path(mask_dir) / "skullstrip.csv"
    if not report.is_file():
        return "user"
    with open(report, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    tools = {str(r.get(k, "")).lower() for r in rows for k in ("tool", "method", "mode")}
    return "deepbet" if any("deepbet" in t for t in tools) else "hdbet"


def _g(value) -> str:
    return "n/a" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


def _ci(ci) -> str:
    ci = ci or [None, None]
    ok = ci[0] is not None and ci[0] == ci[0]  # None or NaN: no interval (too few subjects)
    return f"95% CI {_g(ci[0])} to {_g(ci[1])}" if ok else ""


def metric_text(value) -> str | None:
    """``0.912 (95% CI 0.85 to 0.96)``, ``0.81 (95% CI 0.78 to 0.84; sd 0.05, n=12)`` or a number.

    None for entries that are not one figure (confusion matrices).
    """
    if isinstance(value, dict) and "value" in value:
        ci = _ci(value.get("ci95"))
        return f"{_g(value['value'])}" + (f" ({ci})" if ci else "")
    if isinstance(value, dict) and "mean" in value:
        ci = _ci(value.get("ci95"))
        return f"{_g(value['mean'])} ({ci + '; ' if ci else ''}sd {_g(value.get('sd'))}, n={value.get('n')})"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _g(value)
    return None


def task_phrase(config: dict) -> str:
    """What the model does, from the run's task and task configuration."""
    target = config.get("task_config", {}).get("target") or config.get("task")
    if config.get("task") == "hippocampus" or "classes" in config.get("task_config", {}):
        classes = list(config.get("task_config", {}).get("classes", {}).values())
        return f"segment the hippocampus ({', '.join(classes)}) in T1-weighted MRI"
    if target == "sex" or config.get("task") in ("sex", "phantom-sex"):
        return "classify sex (0 male, 1 female) from T1-weighted MRI"
    if target == "age" or config.get("task") == "age":
        return "predict age in years (brain age) from T1-weighted MRI"
    return f"predict {target} from T1-weighted MRI"


def counts_text(facts: RunFacts) -> str:
    counts = facts.split.get("counts") or {p: len(facts.split.get(p, [])) for p in PARTS}
    return ", ".join(f"{p} {counts.get(p, 0)}" for p in PARTS)


def split_phrase(split: dict) -> str:
    method, seed = split.get("method", "random"), split.get("seed", 0)
    if method == "kfold":
        return f"fold {split.get('fold')} of a {split.get('k')}-fold subject-level cross-validation (seed {seed})"
    if method == "fixed":
        return f"a fixed test set, the validation subjects drawn from the rest (seed {seed})"
    return f"a subject-level random split, stratified by sex and age where known (seed {seed})"


def limits(facts: RunFacts) -> list[str]:
    """Known limits that follow from the run's own data and settings."""
    config, out = facts.config, []
    trivial = _no_better_than_trivial(facts)
    if trivial:
        out.append(f"Not usable: {trivial}.")
    cohort = config.get("cohort", {}).get("train", {})
    sites = cohort.get("sites") or {}
    if len(sites) == 1:
        out.append(
            f"Trained on one site ({next(iter(sites))}): scans from other scanners and protocols are "
            "untested and may be predicted worse."
        )
    elif not sites:
        out.append("The acquisition sites are not recorded: how well it transfers across scanners is unknown.")
    age = cohort.get("age")
    if age:
        out.append(f"Training ages {age['min']:.0f}-{age['max']:.0f} y: outside that range the model extrapolates.")
    if config.get("data", {}).get("dataset") == "ixi":
        out.append("IXI subjects are healthy adults: no pathology was seen in training.")
    n_test = (facts.metrics.get("test") or {}).get("n")
    if not facts.metrics.get("test"):
        out.append(
            "No test figures: validation figures come from the split that also chose the checkpoint (optimistic)."
        )
    elif isinstance(n_test, int) and n_test < 50:
        out.append(f"The test set is small (n={n_test}): its intervals are wide.")
    label_lookup = config.get("data", {}).get("label_lookup")
    if label_lookup:
        out.append(
            f"The labels are automatic segmentations (lookup {label_lookup}): the metrics measure agreement "
            "with that tool, not with manual tracing."
        )
    pipeline = config.get("pipeline", {})
    if not pipeline.get("apply_mask") and "classes" not in config.get("task_config", {}):
        out.append(
            "Full-head input: the network may use skull, scalp and neck as well as the brain "
            "(brainmri-explain shows where it looks)."
        )
    out.append(f"Inputs are resampled to {_mm(pipeline.get('spacing'))} mm: finer detail is not seen.")
    out.append("For research only; not a medical device and not for clinical decisions.")
    return out


def _no_better_than_trivial(facts: RunFacts) -> str | None:
    """The task's verdict on the held-out figures (test, else validation), or None."""
    from ..errors import BrainmriError
    from ..tasks import get_task, trivial_verdict

    part = "test" if facts.metrics.get("test") else "val"
    try:
        reason = trivial_verdict(get_task(facts.config.get("task", "")), facts.metrics.get(part) or {})
    except BrainmriError:  # a task this installation does not have: no verdict
        return None
    return f"on the {part} split {reason}" if reason else None


def _mm(values) -> str:
    values = list(values or [])
    return _g(float(values[0])) if values and len(set(values)) == 1 else " x ".join(_g(float(v)) for v in values)


def write_run_documents(run_dir) -> tuple[Path, Path]:
    """Write ``MODEL_CARD.md`` and ``methods.md`` into a run folder, atomically.

    Args:
        run_dir: The run folder (its config.json must exist).

    Returns:
        The two paths.
    """
    from .methods import methods_text, model_card

    run = RunDir(run_dir).require()
    facts = RunFacts.read(run)
    card, methods = run.path / CARD_NAME, run.path / METHODS_NAME
    write_text_atomic(card, model_card(facts))
    write_text_atomic(methods, methods_text(facts))
    return card, methods


__all__ = [
    "ARCHITECTURES",
    "CARD_NAME",
    "DATASETS",
    "METHODS_NAME",
    "RunFacts",
    "cited",
    "cohort_summary",
    "write_run_documents",
]
