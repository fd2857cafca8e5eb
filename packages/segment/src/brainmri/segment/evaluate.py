"""Scoring label maps against a dataset's reference labels: per subject, then mean +- sd.

Two entry points: :func:`evaluate_predictions` scores a folder of ``<scan>_hippocampus.nii.gz``
files written by ``predict`` (the ``evaluate`` command); :func:`evaluate_run` segments a run's
own split with its network and stores the result in the run folder (after training).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from brainmri.core.errors import DatasetError, ScanError

from .labels import dataset_labels
from .metrics import jsonable, segmentation_metrics, summarise

#: Suffix of the label files ``predict`` writes.
OUTPUT_SUFFIX = "_hippocampus.nii.gz"

#: Label names per dataset layout.


def prediction_path(pred_dir: str | os.PathLike, scan: str | os.PathLike) -> Path:
    """Where ``predict`` writes the labels of ``scan`` in ``pred_dir``."""
    from brainmri.core.io import scan_stem

    return Path(pred_dir) / f"{scan_stem(scan)}{OUTPUT_SUFFIX}"


def score_subject(pred: np.ndarray, subject, pred_affine: np.ndarray | None, classes, pred_path=None) -> dict:
    """Metrics of one predicted label map against the subject's reference labels.

    Raises:
        ScanError: The prediction is not on the reference's grid.
    """
    from brainmri.core.datasets import load_labels

    truth = load_labels(subject)
    if pred_affine is not None and (
        tuple(pred.shape) != truth.shape or not np.allclose(pred_affine, truth.affine, atol=1e-3)
    ):
        raise ScanError(
            pred_path,
            f"grid {tuple(pred.shape)} does not match the reference labels of "
            f"{subject.subject_id} {truth.shape} (predict writes the scan's own grid)",
        )
    row = {"subject_id": subject.subject_id, "image": str(subject.image)}
    row.update(segmentation_metrics(pred, truth.data, truth.affine, classes))
    return row


def _subjects(dataset: str, root, split: str | None):
    from brainmri.core.datasets import load_dataset

    if dataset == "adni":
        index = load_dataset("adni", root, split=split)
    elif dataset == "msd":
        index = load_dataset("msd", root, split="train")
    else:
        raise DatasetError(root, f"segmentation datasets are adni and msd, not {dataset!r}")
    subjects = [s for s in index.subjects if s.label is not None or s.label_parts]
    if not subjects:
        raise DatasetError(root, f"no labelled subject in the {split or 'whole'} split")
    return subjects


def write_rows(path: Path, rows: list[dict]) -> Path:
    """Rows as CSV, atomically (``inf`` written as ``inf``, NaN as empty)."""
    from brainmri.core.atomic import write_csv_atomic

    return write_csv_atomic(path, rows)


def summary_lines(summary: dict, classes) -> list[str]:
    """Human-readable ``metric: mean +- sd`` lines for the main metrics."""
    lines = []
    for name in [*classes.values(), "mean"]:
        for metric, unit in (("dice", ""), ("hd95", " mm"), ("vol_diff", " mm3")):
            s = summary.get(f"{metric}_{name}")
            if s is None:
                continue
            extra = f" ({s['n_inf']} inf: a side empty)" if s.get("n_inf") else ""
            value = f"{s['mean']:.4g} +- {s['sd']:.3g}{unit}" if s["n"] else "n/a"
            lines.append(f"{metric}_{name}: {value} (n={s['n']}){extra}")
    return lines


def evaluate_predictions(
    pred_dir: str | os.PathLike,
    dataset: str,
    root: str | os.PathLike,
    split: str | None = "test",
    out: str | os.PathLike | None = None,
    on_error: str = "fail",
):
    """Score the label files in ``pred_dir`` against a dataset's reference labels.

    Args:
        pred_dir: Folder holding ``<scan stem>_hippocampus.nii.gz`` for the split's scans.
        dataset: ``adni`` (HarP: 1 left, 2 right) or ``msd`` (1 anterior, 2 posterior).
        root: The dataset folder.
        split: HarP split (``train``: Labels_100, ``test``: Labels_35, None: both).
        out: Per-subject CSV path (default ``pred_dir/evaluation_<split>.csv``, ``_all`` for
            MSD, whose labelled cases are all scored); the summary
            (mean, sd, n per metric) is written beside it as ``.json``.
        on_error: ``fail`` or ``skip`` (missing or mismatched predictions).

    Returns:
        ``(report, summary, csv path)``: the :class:`~brainmri.core.batch.BatchReport`
        whose ``done`` holds one row per subject, and the summary dict.
    """
    from brainmri.core.batch import run_batch
    from brainmri.core.io import load_volume

    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise DatasetError(pred_dir, "prediction folder not found")
    classes = dataset_labels(dataset)[0]
    subjects = _subjects(dataset, root, split)

    def one(subject) -> dict:
        path = prediction_path(pred_dir, subject.image)
        if not path.is_file():
            raise ScanError(path, f"no prediction for {subject.subject_id} (run predict on {subject.image})")
        pred = load_volume(path, check_values=False)
        data = np.asarray(pred.data)
        if data.dtype.kind == "f":
            data = np.rint(data)
        return score_subject(data.astype(np.int64), subject, pred.affine, classes, path)

    report = run_batch(subjects, one, on_error=on_error, desc="evaluate", name=lambda s: s.subject_id)
    summary = summarise(report.done)
    part = split if dataset == "adni" and split else "all"
    csv_path = Path(out) if out else pred_dir / f"evaluation_{part}.csv"
    write_rows(csv_path, report.done)
    from brainmri.core.atomic import write_text_atomic

    write_text_atomic(
        csv_path.with_suffix(".json"),
        json.dumps(
            jsonable(
                {
                    "dataset": dataset,
                    "split": split,
                    "n": len(report.done),
                    "skipped": len(report.skipped),
                    "metrics": summary,
                }
            ),
            indent=2,
        )
        + "\n",
    )
    return report, summary, csv_path


#: Cases with the lowest Dice whose mosaics the run report shows, per split.
WORST_SHOWN = 3


def draw_worst_cases(run_path, part: str, worst: list) -> None:
    """Mosaics of the worst cases (predicted and reference outlines) for the run report."""
    from brainmri.core.datasets import load_labels
    from brainmri.core.io import load_volume
    from brainmri.core.report import PAGE_NAME, files_dir

    from .plotting import overlay_png

    folder = files_dir(Path(run_path) / PAGE_NAME)
    for old in folder.glob(f"worst_{part}_*.png"):
        old.unlink()
    for k, (dice, _, labels, subject) in enumerate(worst, start=1):
        overlay_png(
            load_volume(subject.image),
            np.asarray(labels.data),
            folder / f"worst_{part}_{k}.png",
            truth=load_labels(subject).data,
            title=f"{subject.subject_id}: mean Dice {dice:.3f}",
        )


def evaluate_run(
    run_dir,
    splits=("test",),
    device="auto",
    checkpoint: str = "best",
    progress: bool = True,
    **segmenter_options,
) -> dict:
    """Segment a run's split subjects with its network and score them (native grid).

    Writes ``metrics.json`` (mean, sd, 95% bootstrap interval and n of every metric per split) and ``predictions.csv``
    (one row per subject) into the run folder, MODEL_CARD.md and methods.md again, and the
    mosaics of each split's :data:`WORST_SHOWN` lowest-Dice cases
    (``RUN/report_files/worst_<split>_<k>.png``, predicted and reference outlines) that the run's
    report.html shows.

    Returns:
        ``{split: summary}``.
    """
    from brainmri.core.io import load_volume
    from brainmri.core.splits import Split
    from brainmri.core.training.rundir import RunDir

    from .inference import Segmenter
    from .subjects import labelled_subjects

    run = RunDir(run_dir).require()
    config = run.read_config()
    subjects_all = labelled_subjects(config["data"])
    split = Split.load(run.split_path)
    segmenter = Segmenter.from_run(run.path, device, checkpoint, **segmenter_options)
    classes = {int(k): v for k, v in config["task_config"]["classes"].items()}
    results = {}
    from tqdm.auto import tqdm

    for part in splits:
        subjects = split.select(subjects_all, part)
        rows = []
        worst: list = []  # (dice_mean, position, labels, subject) of the lowest cases so far
        for position, s in enumerate(tqdm(subjects, desc=f"evaluate {part}", disable=not progress, leave=False)):
            labels = segmenter.segment(load_volume(s.image)).labels
            rows.append(score_subject(labels, s, None, classes))
            dice = rows[-1].get("dice_mean")
            worst = sorted([*worst, (dice if dice == dice else -1.0, position, labels, s)], key=lambda w: w[:2])
            worst = worst[:WORST_SHOWN]
        draw_worst_cases(run.path, part, worst)
        summary = summarise(rows) if rows else {}
        run.update_metrics(part, jsonable({"n": len(rows), **summary}))
        run.update_predictions(part, rows)
        results[part] = summary
    from brainmri.core.training.modelcard import write_run_documents

    write_run_documents(run.path)  # the card's metrics follow metrics.json
    return results
