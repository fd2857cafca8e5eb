"""Label values of segmentations and the left/right pairs a mirror swaps: the one place they are defined.

DESIGN.md, "Label conventions": hippocampus 0 background, 1 left, 2 right (patient's left,
x < 0 in RAS); a left-right flip swaps 1 and 2. MSD Task04 keeps its own labels
(1 anterior, 2 posterior), which a flip never swaps.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Hippocampus labels of HarP-style data and of ``predict`` output.
HIPPOCAMPUS_CLASSES: dict[int, str] = {1: "left", 2: "right"}
#: Label pairs a left-right mirror exchanges in HarP-style data.
HIPPOCAMPUS_LR_PAIRS: tuple[tuple[int, int], ...] = ((1, 2),)

#: ``{dataset layout: (classes, left/right pairs)}``.
DATASET_LABELS: dict[str, tuple[dict[int, str], tuple[tuple[int, int], ...]]] = {
    "adni": (HIPPOCAMPUS_CLASSES, HIPPOCAMPUS_LR_PAIRS),
    "msd": ({1: "anterior", 2: "posterior"}, ()),
}


def dataset_labels(dataset: str) -> tuple[dict[int, str], tuple[tuple[int, int], ...]]:
    """``(classes, left/right pairs)`` of a dataset layout (``adni``, ``msd``); others: HarP's."""
    return DATASET_LABELS.get(str(dataset), DATASET_LABELS["adni"])


def task_classes(task_config: Mapping) -> dict[int, str]:
    """``{label value: name}`` of a run (config.json stores the keys as strings); HarP's by default."""
    classes = task_config.get("classes")
    return dict(HIPPOCAMPUS_CLASSES) if classes is None else {int(k): v for k, v in classes.items()}


def task_lr_pairs(task_config: Mapping) -> list[tuple[int, int]]:
    """The left/right label pairs of a run (none for labels without sides)."""
    return [tuple(p) for p in task_config.get("lr_pairs", [])]
