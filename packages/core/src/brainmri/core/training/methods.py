"""The text of ``MODEL_CARD.md`` and ``methods.md`` (see :mod:`.modelcard` for the facts they use)."""

from __future__ import annotations

from .modelcard import (
    PARTS,
    RunFacts,
    _g,
    _mm,
    counts_text,
    limits,
    metric_text,
    split_phrase,
    task_phrase,
)
from .references import ARCHITECTURES, DATASETS, REFERENCES, cited

_INTERPOLATION = {"linear": "trilinear", "cubic": "cubic B-spline"}
_CENTRE = {"scan": "scan", "mask": "brain mask's centroid", "mask_box": "brain mask's bounding box"}
#: Metrics a methods paragraph reports first (the rest stay in the model card).
_HEADLINE = ("balanced_accuracy", "roc_auc", "accuracy", "mae", "pearson_r", "dice", "hd95")
_REGION = {
    "foreground": "voxels above the image mean",
    "nonzero": "non-zero voxels",
    "mask": "the brain mask",
    "all": "all voxels",
}


def _augment_phrase(config: dict) -> str:
    aug, train = config.get("pipeline", {}).get("augment", {}), config.get("train", {})
    if not train.get("augment", True):
        return "No augmentation was used."
    parts = []
    if aug.get("rotation_deg"):
        parts.append(f"rotations up to ±{_g(float(aug['rotation_deg']))}° about each axis")
    if aug.get("scale"):
        parts.append(f"scaling by up to ±{_g(100 * float(aug['scale']))}%")
    if aug.get("translation_mm"):
        parts.append(f"shifts up to ±{_g(float(aug['translation_mm']))} mm")
    if aug.get("flip_lr_prob"):
        swap = " (swapping left and right labels)" if aug.get("lr_label_pairs") else ""
        parts.append(f"left-right mirroring with probability {_g(float(aug['flip_lr_prob']))}{swap}")
    if aug.get("gamma"):
        parts.append("random gamma")
    if aug.get("bias_field"):
        parts.append("a smooth multiplicative bias field")
    if aug.get("noise_std"):
        parts.append("Gaussian noise")
    text = (
        (
            "Training batches were augmented with " + ", ".join(parts) + ", the spatial ones composed into the same "
            "single resampling."
        )
        if parts
        else "No spatial or intensity augmentation was configured."
    )
    artifacts = train.get("mri_artifacts")
    if artifacts:
        listed = ", ".join(f"{name.replace('_', ' ')} (p = {_g(float(p))})" for name, p in artifacts.items())
        text += (
            f" MRI artifacts from TorchIO [torchio] were added to the resampled training images: {listed}; "
            "the labels were left unchanged."
        )
    return text


def _cite(text: str) -> tuple[str, list[str]]:
    """Number the ``[key]`` markers in order of first appearance; the references in that order."""
    import re

    order = list(dict.fromkeys(k for k in re.findall(r"\[(\w+)\]", text) if k in REFERENCES))
    for n, key in enumerate(order, start=1):
        text = text.replace(f"[{key}]", f"[{n}]")
    text = re.sub(r"\[(\d+)\] \[(\d+)\]", r"[\1, \2]", text)
    return text, cited(order)


def _plural(n, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _headline(facts: RunFacts) -> tuple[str, dict]:
    for part in ("test", "val"):
        metrics = facts.metrics.get(part)
        if metrics:
            return part, metrics
    return "", {}


def methods_text(facts: RunFacts) -> str:
    """A paragraph for a paper's methods section, with its numbered references."""
    config = facts.config
    data, pipeline, train = config.get("data", {}), config.get("pipeline", {}), config.get("train", {})
    versions = config.get("versions", {})
    dataset, dataset_keys = DATASETS.get(data.get("dataset"), ("the given scans", ()))
    arch, arch_keys = ARCHITECTURES.get(config.get("arch"), (f"a {config.get('arch')} network", ()))
    cite_data = "".join(f" [{k}]" for k in dataset_keys)
    cite_arch = "".join(f" [{k}]" for k in arch_keys)
    sentences = [
        f"We trained {arch}{cite_arch} to {task_phrase(config)} with brainmri (brainmri-core "
        f"{versions.get('brainmri-core', '?')}) on PyTorch {versions.get('torch', '?')} [pytorch].",
        f"The data were {dataset}{cite_data}, {counts_text(facts)} subjects in {split_phrase(facts.split)}.",
    ]
    if facts.mask_tool in ("hdbet", "deepbet"):
        tool = "HD-BET" if facts.mask_tool == "hdbet" else "deepbet"
        sentences.append(
            f"Brains were extracted with {tool} [{facts.mask_tool}] and the network saw the brain-extracted scans."
        )
    elif facts.mask_tool == "user":
        sentences.append("The network saw the scans multiplied by their given brain masks.")
    shape = " x ".join(str(s) for s in pipeline.get("shape", []))
    clip = pipeline.get("clip_percentiles")
    interpolation = _INTERPOLATION.get(pipeline.get("interpolation"), "linear")
    task_config = config.get("task_config", {})
    if task_config.get("patch_size"):
        fraction = float(task_config.get("foreground_fraction", 0))
        grid = (
            f"Training patches of {shape} voxels at {_mm(pipeline.get('spacing'))} mm (RAS orientation, "
            f"{task_config.get('patches_per_scan')} per scan and epoch, centred on a labelled voxel with "
            f"probability {_g(fraction)}, elsewhere at random) were each cut from the native scan by one "
            f"resampling with {interpolation} interpolation for the image and "
            f"{pipeline.get('label_interpolation')} for the labels (reorientation, voxel size, position and "
            "augmentation composed into one transform); validation and test scans were segmented whole with "
            "a sliding window and mapped back onto their own grid. Images were "
        )
    else:
        centre = _CENTRE.get(pipeline.get("centre"), "scan")
        grid = (
            f"Each scan was resampled once, with {interpolation} interpolation, onto a "
            f"{_mm(pipeline.get('spacing'))} mm grid of {shape} voxels in RAS orientation centred on the "
            f"{centre} (reorientation, voxel size, centring and augmentation composed into one transform), "
        )
    sentences.append(
        grid
        + (f"clipped to the {_g(float(clip[0]))}-{_g(float(clip[1]))} percentiles and " if clip else "")
        + f"z-scored over {_REGION.get(pipeline.get('zscore_region'), 'the image')}."
    )
    sentences.append(_augment_phrase(config))
    epochs = len(facts.log) or train.get("epochs")
    best = facts.weights.get("best", {})
    schedule = {"cosine": "a cosine learning-rate schedule", "plateau": "a learning rate halved on plateaus"}.get(
        train.get("scheduler"), "a constant learning rate"
    )
    sentences.append(
        f"It was optimised with AdamW [adamw] (learning rate {_g(float(train.get('lr', 0)))}, weight decay "
        f"{_g(float(train.get('weight_decay', 0)))}, {schedule}, batch size {train.get('batch_size')} per process "
        f"on {_plural(config.get('world_size', 1), 'process', 'processes')}) for {_plural(epochs, 'epoch')}, "
        f"keeping the weights of the epoch with the best {best.get('monitor') or 'monitored metric'} "
        f"(epoch {best.get('epoch', '?')})."
    )
    part, metrics = _headline(facts)
    if metrics:
        figures = [
            name for name, value in metrics.items() if isinstance(value, dict) and ("value" in value or "mean" in value)
        ]
        main = [name for name in figures if name.startswith(_HEADLINE)] or figures
        shown = [f"{name.replace('_', ' ')} {metric_text(metrics[name])}" for name in main[:4]]
        n = metrics.get("n")
        sentences.append(
            f"On the {'held-out test' if part == 'test' else 'validation'} subjects (n = {n}): "
            + "; ".join(shown)
            + " (95% percentile bootstrap intervals over subjects [bootstrap])."
        )
    paragraph, references = _cite(" ".join(sentences))
    refs = "\n".join(f"{i + 1}. {ref}" for i, ref in enumerate(references))
    return (
        "# Methods\n\n"
        "A description of this run to adapt for a paper's methods section (generated from config.json, "
        "split.json and metrics.json).\n\n" + paragraph + "\n\n## References\n\n" + refs + "\n"
    )


def model_card(facts: RunFacts) -> str:
    """The model card (Markdown) of a run."""
    config = facts.config
    data, pipeline, train = config.get("data", {}), config.get("pipeline", {}), config.get("train", {})
    arch, _ = ARCHITECTURES.get(config.get("arch"), (config.get("arch"), ()))
    lines = [
        f"# Model card: {config.get('task')} ({config.get('arch')})",
        "",
        f"Generated by brainmri from this run folder ({facts.path.name}); written again whenever its "
        "metrics.json changes. Created " + str(config.get("created", "?")) + ".",
        "",
        "## Model",
        "",
        f"- Task: {task_phrase(config)}.",
        f"- Architecture: `{config.get('arch')}`, {arch}; options "
        f"`{config.get('model', {}).get('options', {})}`; {config.get('model', {}).get('out_features')} outputs.",
    ]
    for name, w in facts.weights.items():
        lines.append(
            f"- Weights `{w['file']}` ({name}): SHA-256 `{w['sha256']}`, epoch {w['epoch']}, "
            f"{w['parameters']:,} parameters"
            + (f", {w['monitor']} = {_g(w['metric'])}" if w.get("metric") is not None else "")
            + "."
        )
    lines += [
        "",
        "## Data",
        "",
        f"- Dataset: `{data.get('dataset')}` at `{data.get('root')}`"
        + (f", metadata `{data.get('metadata')}`" if data.get("metadata") else "")
        + (f", labels `{data.get('label_dir')}` ({data.get('label_lookup')})" if data.get("label_dir") else "")
        + ".",
        f"- Split: {split_phrase(facts.split)}; subjects {counts_text(facts)} (split.json).",
    ]
    cohort = config.get("cohort")
    if cohort:
        lines += [
            "",
            "| part | scans | subjects | male | female | sex unknown | age range (y) | sites |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for part in PARTS:
            c = cohort.get(part, {})
            sex, age = c.get("sex", {}), c.get("age")
            ages = f"{age['min']:.0f}-{age['max']:.0f}" if age else "n/a"
            sites = ", ".join(f"{k} {v}" for k, v in (c.get("sites") or {}).items()) or "not recorded"
            lines.append(
                f"| {part} | {c.get('scans', 0)} | {c.get('subjects', 0)} | {sex.get('male', 0)} | "
                f"{sex.get('female', 0)} | {sex.get('unknown', 0)} | {ages} | {sites} |"
            )
    lines += [
        "",
        "## Preprocessing",
        "",
        f"- One resample to {_mm(pipeline.get('spacing'))} mm, grid {pipeline.get('shape')}, "
        f"{pipeline.get('interpolation')} interpolation, centred on the {_CENTRE.get(pipeline.get('centre'), 'scan')}; "
        f"z-score over `{pipeline.get('zscore_region')}`, clip percentiles {pipeline.get('clip_percentiles')}"
        f"; brain only: {'yes' if pipeline.get('apply_mask') else 'no'}"
        + (f" (masks from {facts.mask_tool})" if facts.mask_tool else "")
        + ".",
        f"- {_augment_phrase(config).replace(' [torchio]', '')}",
        "",
        "## Training",
        "",
        f"- {_plural(len(facts.log), 'epoch')} run (of {train.get('epochs')}), batch size {train.get('batch_size')}, "
        f"lr {train.get('lr')}, weight decay {train.get('weight_decay')}, scheduler {train.get('scheduler')}, "
        f"patience {train.get('patience')}, amp {train.get('amp')}, seed {train.get('seed')}, world size "
        f"{config.get('world_size', 1)}.",
        "",
        "## Metrics",
        "",
        "95% percentile bootstrap intervals over subjects (metrics.json).",
        "",
    ]
    if facts.metrics:
        lines += ["| split | metric | value |", "| --- | --- | --- |"]
        for part in ("test", "val", "train"):
            for name, value in (facts.metrics.get(part) or {}).items():
                text = metric_text(value)
                if text is not None:
                    lines.append(f"| {part} | {name} | {text} |")
    else:
        lines.append("Not evaluated yet (run `evaluate`).")
    versions = dict(config.get("versions", {}))
    if train.get("mri_artifacts"):
        from importlib.metadata import PackageNotFoundError, version

        try:
            versions.setdefault("torchio", version("torchio"))
        except PackageNotFoundError:
            pass
    trained_on = DATASETS.get(data.get("dataset"), ("the given scans",))[0]
    lines += [
        "",
        "## Versions",
        "",
        *[f"- {k} {v}" for k, v in versions.items()],
        "",
        "## Intended use",
        "",
        f"Research on T1-weighted brain MRI like the training data ({trained_on}), through `predict`, "
        "`evaluate` and `explain` with this run folder.",
        "",
        "## Known limits",
        "",
        *[f"- {text}" for text in limits(facts)],
        "",
        "## Citation",
        "",
        "See methods.md for a methods paragraph and its references.",
        "",
    ]
    return "\n".join(lines)
