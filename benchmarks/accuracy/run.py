"""Accuracy on real data: subject-level, seeded, stratified k-fold cross-validation (``nox -s accuracy``).

    python benchmarks/accuracy/run.py [--quick] [--config cpu|full] [--tasks sex-full age-full ...]
                                      [--folds 5] [--out accuracy-output] [--mask-dir DIR]
                                      [--mri-artifacts]

Every task trains with the same library calls as its ``train`` command, on the real data in
``../shared/data`` (IXI-HH with its real IXI.xls, DLMUSE labels and HD-BET masks made by
``brainmri-core skullstrip``; MSD Task04). Each subject is predicted once, by the fold that
held it out; the pooled out-of-fold predictions give each figure with a 95% bootstrap CI,
printed beside the trivial baseline, the reference project and the literature.

``--mri-artifacts``: every task is trained twice on the same folds, without and with TorchIO's
MRI artifacts (``train --mri-artifacts``), and the table adds the paired difference on the same
held-out subjects with its 95% bootstrap CI. ``--tasks age`` stands for age-full and age-brain.

``--quick``: the first fold of each task only, at half its epochs (``recipes.QUICK_EPOCHS``), with
the DLMUSE label maps' brain as the brain mask unless ``--mask-source hdbet``, so that the whole
run fits about 30 min on 2 cores; its figures check the benchmark end to end and sit below the
defaults' (cite the five-fold run). ``--config full``: the reference project's
2 mm / 128^3 grids and larger patches, for a CUDA machine (``benchmarks/gpu.sh``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accuracy.recipes import (  # noqa: E402
    ANCHORS,
    ARTIFACTS,
    QUICK_EPOCHS,
    RECIPES,
    TASKS,
    expand_tasks,
    quick_recipe,
    with_mri_artifacts,
)
from accuracy.scoring import paired_difference, pooled_metrics  # noqa: E402


def _data_root(arg: str | None) -> Path:
    from brainmri.core.testing import shared_path

    if arg:
        return Path(arg)
    shared = shared_path()
    if shared is None or not (shared / "data" / "ixi-hh").is_dir():
        sys.exit("the accuracy benchmark needs ../shared/data (ixi-hh, Task04_Hippocampus) beside the repository")
    return shared / "data"


def _dlmuse_masks(data: Path, out: Path) -> Path:
    """Brain masks from the DLMUSE label maps (every labelled voxel), written once."""
    import nibabel as nib

    masks = out / "dlmuse-masks"
    masks.mkdir(parents=True, exist_ok=True)
    for label in sorted((data / "ixi-hh" / "labels").glob("*_dlmuse.nii.gz")):
        target = masks / label.name.replace("_dlmuse.nii.gz", "_mask.nii.gz")
        if not target.is_file():
            img = nib.load(str(label))
            nib.save(nib.Nifti1Image((np.asarray(img.dataobj) > 0).astype(np.uint8), img.affine), str(target))
    return masks


def _masks(data: Path, out: Path, given: str | None, source: str) -> Path:
    """Brain masks of the IXI-HH scans: HD-BET's, made once by the skullstrip batch (resumes), or DLMUSE's."""
    if given:
        return Path(given)
    if source == "dlmuse":
        return _dlmuse_masks(data, out)
    from brainmri.core.hdbet import run_skullstrip

    masks = out / "ixi-hh-masks"
    scans = sorted((data / "ixi-hh").glob("IXI*-T1.nii.gz"))
    print(f"HD-BET masks of {len(scans)} IXI-HH scans -> {masks} (done once, resumed)", flush=True)
    run_skullstrip(scans, masks, on_error="skip")
    return masks


def _subjects(spec: dict, data: Path, masks: Path | None) -> list:
    from brainmri.core.datasets import load_dataset
    from brainmri.core.tasks import get_task

    if spec["kind"] == "segment":
        from brainmri.segment.subjects import labelled_subjects

        return labelled_subjects(spec["data"](data))
    task = get_task(spec["task"])
    index = load_dataset("ixi", data / "ixi-hh", metadata=data / "ixi-hh" / "IXI.xls",
                         mask_dir=masks if spec.get("brain") else None)
    return [s for s in index.subjects if task.has_target(s)]


def _train_fold(name: str, spec: dict, recipe: dict, data: Path, masks, split_file: Path, run: Path, device: str):
    from brainmri.core.training.trainer import PLANNABLE, TrainConfig

    tc = recipe["train"]
    if spec["kind"] == "segment":
        from brainmri.segment.training import train_segmentation

        d = spec["data"](data)
        return train_segmentation(
            run, dataset=d["dataset"], root=d["root"], metadata=d.get("metadata"), label_dir=d.get("label_dir"),
            labels=d.get("label_lookup"), arch=recipe.get("arch", "vt1-unet"), spacing=recipe.get("spacing"),
            # what the recipe leaves out is the task's planned schedule
            train_config=TrainConfig(**{**dict.fromkeys(PLANNABLE), **tc}, monitor="val_dice", monitor_mode="max"),
            task_options=recipe.get("task_options"), model_options=recipe.get("model_options"),
            split_file=split_file, device=device, progress=False)
    from brainmri.core.training.workflow import train

    root = data / "ixi-hh"
    return train(spec["task"], run, dataset="ixi", root=root, metadata=root / "IXI.xls",
                 mask_dir=masks if spec.get("brain") else None, arch=recipe["arch"], spacing=recipe.get("spacing"),
                 shape=recipe.get("shape"), train_config=TrainConfig(**tc), task_options=recipe.get("task_options"),
                 model_options=recipe.get("model_options"), split_file=split_file, device=device, progress=False)


def _test_rows(run: Path) -> list[dict]:
    import csv

    with open(run / "predictions.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r.get("split") == "test"]


def _runs(out: Path, quick: bool) -> Path:
    """Where the folds train: quick folds (half the epochs) apart, so that neither run reuses the other's."""
    return out / ("runs-quick" if quick else "runs")


def _finished(run: Path, masks) -> bool:
    """A fold trained to the end on the same brain masks: reused (a brain-only fold trained on other
    masks, HD-BET's or DLMUSE's, trains again)."""
    if not (run / "metrics.json").is_file():
        return False
    used = json.loads((run / "config.json").read_text()).get("data", {}).get("mask_dir")
    return used is None or masks is None or Path(used).resolve() == Path(masks).resolve()


def run_task(name: str, args, data: Path, masks, out: Path) -> dict:
    from brainmri.core.splits import Split, kfold

    base = name.removesuffix(ARTIFACTS)
    spec, recipe = TASKS[base], RECIPES[args.config][base]
    if name.endswith(ARTIFACTS):
        recipe = with_mri_artifacts(recipe)
    if args.quick:
        from brainmri.core.devices import resolve_device

        recipe = quick_recipe(spec, recipe, resolve_device(args.device).type)
    subjects = _subjects(spec, data, masks)
    folds = kfold(subjects, args.folds, seed=args.seed)
    rows, seconds = [], []
    for fold in folds[: 1 if args.quick else len(folds)]:
        run = _runs(out, args.quick) / f"{name}_fold{fold.fold}"
        if not _finished(run, masks):  # a finished fold is reused; an unfinished one starts over
            shutil.rmtree(run, ignore_errors=True)
            split_file = run.with_name(f"{run.name}.split.json")
            split_file.parent.mkdir(parents=True, exist_ok=True)
            Split.from_fixed(fold.train, fold.val, val=0.15, seed=args.seed).save(split_file)
            start = time.perf_counter()
            _train_fold(base, spec, recipe, data, masks, split_file, run, args.device)
            (run / "seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
        seconds.append(float((run / "seconds.txt").read_text()) if (run / "seconds.txt").is_file() else np.nan)
        fold_rows = _test_rows(run)
        for r in fold_rows:
            r["fold"] = fold.fold
        rows += fold_rows
        epochs = json.loads((run / "config.json").read_text())["train"]["epochs"]
        print(f"  {name} fold {fold.fold}: {len(fold_rows)} test subjects, {epochs} epochs, {seconds[-1]:.0f} s",
              flush=True)
    result = pooled_metrics(spec, rows)
    result.update(folds_run=len(seconds), k=args.folds, n_subjects=len(subjects),
                  train_seconds=float(np.nansum(seconds)), recipe=recipe, rows=rows)
    return result


def gradcam_inside_brain(out: Path, data: Path, masks: Path, quick: bool, n: int = 10) -> dict:
    """The reference project's question on real scans: the share of positive Grad-CAM inside the
    HD-BET brain mask, for the full-head and the brain-only sex model (fold 1, up to ``n`` of its
    held-out subjects), with ``brainmri-explain gradcam`` as a user runs it."""
    import csv
    import subprocess

    result = {}
    for name in ("sex-full", "sex-brain"):
        run = _runs(out, quick) / f"{name}_fold0"
        if not (run / "metrics.json").is_file():
            continue
        ids = json.loads((run / "split.json").read_text())["test"][:n]
        scans = [str(p) for i in ids for p in (data / "ixi-hh").glob(f"{i}-*-T1.nii.gz")]
        cam = out / ("gradcam-quick" if quick else "gradcam") / name
        cmd = [sys.executable, "-m", "brainmri.explain", "gradcam", str(run), *scans, "-o", str(cam),
               "--mask-dir", str(masks), "--device", "cpu", "--on-error", "skip"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        table = cam / "regions.csv"
        if done.returncode != 0 or not table.is_file():
            result[name] = {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
            continue
        with open(table, newline="") as f:
            rows = list(csv.DictReader(f))
        inside = [float(r["inside_fraction"]) for r in rows if r.get("inside_fraction") not in (None, "")]
        brain = [float(r["brain_voxel_fraction"]) for r in rows if r.get("brain_voxel_fraction") not in (None, "")]
        nonempty = sum(float(r.get("positive_total") or 0) > 0 for r in rows)
        result[name] = {"n": nonempty, "inside_fraction": float(np.mean(inside)) if inside else None,
                        "brain_voxel_fraction": float(np.mean(brain)) if brain else None,
                        "empty_maps": len(rows) - nonempty,
                        # a brain-only model's input has no voxel outside the mask: nothing to split
                        "brain_only_input": not inside and nonempty > 0}
    return result


def print_table(results: dict, args) -> None:
    quick = f"quick: fold 1 of {args.folds}, {QUICK_EPOCHS:.0%} of each task's epochs; " if args.quick else ""
    print(f"\n## Accuracy on real data ({quick}{args.folds}-fold CV, config {args.config}, seed {args.seed}; "
          "95% bootstrap CIs over subjects)\n")
    print("| task | metric | brainmri | 95% CI | trivial baseline | reference project | literature | target |")
    print("|---|---|---|---|---|---|---|---|")
    for name, res in results.items():
        if name.removesuffix(ARTIFACTS) not in ANCHORS:
            continue
        anchor = dict(ANCHORS[name.removesuffix(ARTIFACTS)])
        if name.endswith(ARTIFACTS):
            anchor["title"] += " + MRI artifacts"
        for metric, label in anchor["metrics"]:
            m = res.get(metric)
            if m is None:
                continue
            ci = f"{m['ci95'][0]:.3g}-{m['ci95'][1]:.3g}" if np.all(np.isfinite(m["ci95"])) else "n/a"
            base = res.get("baseline", {}).get(metric)
            print(f"| {anchor['title']} (n={res['n']}) | {label} | {m['value']:.3g} | {ci} | "
                  f"{'' if base is None else f'{base:.3g}'} | {anchor['reference']} | {anchor['literature']} | "
                  f"{anchor['target'].get(metric, '')} |")
    if "sex-full" in results and "sex-brain" in results:
        gap = results["sex-full"]["balanced_accuracy"]["value"] - results["sex-brain"]["balanced_accuracy"]["value"]
        print(f"\nFull head minus brain only, sex balanced accuracy: {gap:+.3f} (reference project: about +0.20)")
    for name, diff in results.get("mri_artifacts", {}).items():
        parts = [f"{metric} {d['value']:+.3g} (95% CI {d['ci95'][0]:+.3g} to {d['ci95'][1]:+.3g})"
                 for metric, d in diff.items() if isinstance(d, dict)]
        print(f"\nMRI artifacts minus none, {name}, same {diff['n']} held-out subjects: " + "; ".join(parts)
              + " (an interval that excludes 0 is a difference; MAE: negative is better)")
    for name, cam in results.get("gradcam", {}).items():
        if cam.get("brain_only_input"):
            print(f"Grad-CAM {name}: {cam['n']} non-empty maps, all inside the brain by construction (its input "
                  "is the masked brain; brainmri-explain reports no inside/outside split for it)")
            continue
        if cam.get("inside_fraction") is None:
            print(f"Grad-CAM {name}: {cam.get('error', 'no map')}")
            continue
        print(f"Grad-CAM {name}: {cam['inside_fraction']:.1%} of the positive attribution inside the brain mask "
              f"(a uniform map: {cam['brain_voxel_fraction']:.1%}; {cam['n']} held-out scans, "
              f"{cam['empty_maps']} empty maps)")


def _results_file(out: Path, quick: bool) -> Path:
    return out / ("accuracy-quick.json" if quick else "accuracy.json")


def _save(path: Path, results: dict) -> None:
    """The results, without the per-subject rows (they stay in each run's predictions.csv)."""
    kept = {k: ({kk: vv for kk, vv in v.items() if kk != "rows"} if isinstance(v, dict) else v)
            for k, v in results.items()}
    path.write_text(json.dumps(kept, indent=2, default=str))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="The first fold of each task only, at half its epochs (about 30 min on 2 cores).")
    parser.add_argument("--config", choices=sorted(RECIPES), default="cpu")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS),
                        help=f"Tasks, or a prefix of them (age: age-full and age-brain): {', '.join(TASKS)}.")
    parser.add_argument("--mri-artifacts", action="store_true",
                        help="Train every task again with TorchIO's MRI artifacts and print the paired difference.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", default=None, help="Folder with ixi-hh/ and Task04_Hippocampus/ [../shared/data].")
    parser.add_argument("--mask-dir", default=None, help="HD-BET masks of the IXI-HH scans (default: made once).")
    parser.add_argument("--mask-source", choices=["hdbet", "dlmuse"], default=None,
                        help="Brain masks without --mask-dir: HD-BET (brainmri-core skullstrip, ~11-40 s a scan on "
                             "2 cores, made once; the default) or the DLMUSE label maps' brain (every labelled "
                             "voxel; the default with --quick, which the 135 HD-BET masks would take past 30 min).")
    parser.add_argument("--out", default="accuracy-output")
    args = parser.parse_args()
    try:
        args.tasks = expand_tasks(args.tasks)
    except ValueError as exc:
        parser.error(str(exc))
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=".*skipped.*")  # the real IXI.xls' quirks: counted in the tests
    logging.getLogger("brainmri").setLevel(logging.ERROR)
    data, out = _data_root(args.data), Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    needs_masks = any(TASKS[t].get("brain") for t in args.tasks)
    args.mask_source = args.mask_source or ("dlmuse" if args.quick else "hdbet")
    if needs_masks and not args.mask_dir and args.quick and args.mask_source == "dlmuse":
        print("brain masks: the DLMUSE label maps' brain (--quick; --mask-source hdbet for HD-BET's, made once)",
              flush=True)
    masks = _masks(data, out, args.mask_dir, args.mask_source) if needs_masks else None
    results_file = _results_file(out, args.quick)
    started = time.perf_counter()
    results = {}
    for name in args.tasks:
        for variant in (name, name + ARTIFACTS) if args.mri_artifacts else (name,):
            print(f"# {variant}", flush=True)
            results[variant] = run_task(variant, args, data, masks, out)
            _save(results_file, results)
        if args.mri_artifacts:
            results.setdefault("mri_artifacts", {})[name] = paired_difference(
                TASKS[name], results[name]["rows"], results[name + ARTIFACTS]["rows"])
            _save(results_file, results)
    if masks is not None and {"sex-full", "sex-brain"} <= set(args.tasks):
        results["gradcam"] = gradcam_inside_brain(out, data, masks, args.quick)
        _save(results_file, results)
    print_table(results, args)
    print(f"\nwall time {time.perf_counter() - started:.0f} s; results in {results_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
