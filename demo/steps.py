"""The demo's steps: each takes the shared Context and returns Markdown lines for the report."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

#: Data and training per demo size: ``default`` fits about 5 minutes on 2 CPU cores,
#: ``quick`` is a smoke test, ``full`` trains longer for models that have learnt more.
SIZES = {
    "quick": {"ixi": 12, "adni": 10, "subjects": 16, "epochs": 2, "segment_epochs": 4},
    # adni 10, not 12: with seed 0 and 12 heads the U-Net still predicted no hippocampus after 20 epochs
    "default": {"ixi": 24, "adni": 10, "subjects": 32, "epochs": 8, "segment_epochs": 20},
    "full": {"ixi": 60, "adni": 24, "subjects": 48, "epochs": 15, "segment_epochs": 30},
}


@dataclass
class Context:
    """What the steps share: where to write, the user's scans, and what earlier steps made."""

    out: Path
    scans: list[Path]
    seed: int = 0
    size: str = "default"
    made: dict = field(default_factory=dict)

    def rel(self, path: Path) -> str:
        """Path relative to the output folder, for links in the report."""
        return str(Path(path).relative_to(self.out))


def synth(ctx: Context) -> list[str]:
    """IXI-layout and HarP-layout phantoms, written as the real datasets are published."""
    from brainmri.core.synth import write_harp, write_ixi

    n_ixi, n_adni = SIZES[ctx.size]["ixi"], SIZES[ctx.size]["adni"]
    data = ctx.out / "data"
    ixi = write_ixi(data / "ixi", subjects=n_ixi, seed=ctx.seed, overwrite=True)
    adni = write_harp(data / "adni", subjects=n_adni, seed=ctx.seed, overwrite=True)
    ctx.made["ixi_root"], ctx.made["adni_root"] = data / "ixi", data / "adni"
    ctx.made["ixi_manifest"], ctx.made["adni_manifest"] = ixi, adni
    return [
        f"- IXI layout: `{ctx.rel(data / 'ixi')}` ({n_ixi} heads, sex and age change the anatomy; with the real "
        "sheet's quirks: rows without images, duplicate rows, empty ages)",
        f"- EADC-ADNI HarP layout: `{ctx.rel(data / 'adni')}` ({n_adni} heads with left/right hippocampus labels "
        "in Labels_100_NIFTI / Labels_35_NIFTI)",
        "- every head is stored in a random orientation and voxel size, like data from many sites",
    ]


def _demo_scans(ctx: Context) -> list[Path]:
    """The user's scans, or one synthetic head when none was named."""
    if ctx.scans:
        return ctx.scans
    from brainmri.core.datasets import load_dataset

    first = load_dataset("ixi", ctx.made["ixi_root"]).subjects[0]
    return [Path(first.image)]


def preprocess(ctx: Context) -> list[str]:
    """The fused pipeline: one resample onto a 2 mm RAS grid, z-scored, as NIfTI."""
    from brainmri.core.cli.info import describe
    from brainmri.core.io import load_volume, save_volume, scan_stem
    from brainmri.core.pipeline import Pipeline, PipelineConfig

    out = ctx.out / "preprocess"
    pipe = Pipeline(PipelineConfig.preset("default"))
    lines = ["| scan | stored as | voxel (mm) | shape | -> grid | output |", "|---|---|---|---|---|---|"]
    ctx.made["demo_scans"] = _demo_scans(ctx)
    for path in ctx.made["demo_scans"]:
        info = describe(path)
        vol = load_volume(path)
        batch = pipe.preprocess(vol)
        target = save_volume(batch.image[0, 0].numpy(), out / f"{scan_stem(path)}_preproc.nii.gz",
                             affine=batch.affine[0])
        lines.append(f"| `{path.name}` | {info['orientation']} | {tuple(info['spacing_mm'])} | "
                     f"{tuple(info['shape'])} | 2 mm RAS 128^3 | `{ctx.rel(target)}` |")
    lines.append("")
    lines.append("Open an output over its scan in FSLeyes or ITK-SNAP: they align, because the output's "
                 "affine is the exact target grid.")
    return lines


def skullstrip(ctx: Context) -> list[str]:
    """HD-BET (original v1 weights, fast mode on CPU) with QC, and a mask overlay PNG."""
    from brainmri.core.hdbet import BrainExtractor
    from brainmri.core.hdbet.report import COLUMNS
    from brainmri.core.io import load_volume, save_volume, scan_stem
    from brainmri.core.plotting import overlay_png
    from brainmri.core.report import PAGE_NAME, Row, files_dir, picture_path, scan_files, write_batch_page
    from brainmri.core.report.viewer import write_viewer_data

    out = ctx.out / "skullstrip"
    extractor = BrainExtractor(device="auto")  # CPU: fast, no TTA; CUDA: accurate with TTA
    lines = [f"HD-BET: {extractor!r}", "",
             "| scan | brain (cm3) | components | L/R asymmetry | QC | mask | picture |",
             "|---|---|---|---|---|---|---|"]
    ctx.made["masks"] = {}
    page, rows = out / PAGE_NAME, []
    for path in ctx.made["demo_scans"]:
        vol = load_volume(path)
        result = extractor.extract(vol)
        mask = save_volume(result.mask, out / f"{scan_stem(path)}_mask.nii.gz", like=vol)
        png = overlay_png(vol, result.mask, out / f"{scan_stem(path)}_mask.png")
        ctx.made["masks"][path] = mask
        qc = result.qc
        write_viewer_data(files_dir(page), path, vol, getattr(result.mask, "data", result.mask), "mask")
        shutil.copyfile(png, picture_path(files_dir(page), path))  # the same picture on the QC page
        rows.append(Row(path.name, str(path), qc.as_row(), qc.flags, **scan_files(files_dir(page), path)))
        verdict = "ok" if qc.ok else "FLAGGED: " + "; ".join(qc.messages())
        lines.append(f"| `{path.name}` | {qc.brain_cm3:.0f} | {qc.components} | {qc.lr_asymmetry:.1%} | {verdict} | "
                     f"`{ctx.rel(mask)}` | ![{path.name}]({ctx.rel(png)}) |")
    write_batch_page(page, "Skull-strip QC (demo)", COLUMNS, rows)
    lines += ["", "A flagged mask is never passed on silently: HD-BET was trained on real T1 heads, so a synthetic "
              "phantom may well be flagged; the QC is the point.", "",
              f"QC page (sort, filter, rate, open in the viewer): [{ctx.rel(page)}]({ctx.rel(page)})"]
    return lines


def tasks(ctx: Context) -> list[str]:
    """Sex and age, trained briefly on phantoms, full head vs brain only (brainmri-classify/-regress)."""
    from brainmri.core.training.demo import demo_tasks

    scan = ctx.scans[0] if ctx.scans else None
    report = demo_tasks(ctx.out / "tasks", scan=scan, subjects=SIZES[ctx.size]["subjects"],
                        epochs=SIZES[ctx.size]["epochs"], device="auto",
                        scan_mask=ctx.made.get("masks", {}).get(scan))  # the skull-strip step's mask: HD-BET once
    ctx.made["tasks_dir"] = report.parent
    text = report.read_text().splitlines()
    body = [line.replace("](", "](tasks/") if line.startswith(("![", "Run reports:")) else line for line in text[1:]]
    return [f"Runs and report: `{ctx.rel(report.parent)}`", *[line.replace("## ", "### ") for line in body]]


def explain(ctx: Context) -> list[str]:
    """Grad-CAM of the sex classifiers: how much of the attribution lies outside the brain."""
    import csv

    from brainmri.explain.demo import explain_demo

    tasks_dir = ctx.made["tasks_dir"]
    with open(tasks_dir / "data" / "subjects.csv", newline="") as fh:
        first = next(csv.DictReader(fh))
    scan, mask = tasks_dir / "data" / first["image"], tasks_dir / "data" / first["mask"]
    runs = {"full_head": tasks_dir / "sex_full_head", "brain_only": tasks_dir / "sex_brain_only"}
    rows = explain_demo(runs, scan, mask, ctx.out / "explain", device="auto")
    lines = [f"Scan `{ctx.rel(scan)}` explained by each sex classifier (Grad-CAM, last convolutional block).", "",
             "| model | attribution inside brain | outside (skull, face, neck) | brain share of the view |",
             "|---|---|---|---|"]
    for row in rows:
        if row["inside_fraction"] != row["inside_fraction"]:  # NaN: the model's input was the brain alone
            lines.append(f"| {row['label']} | n/a: input is brain only | n/a: no input voxel there | n/a |")
            continue
        lines.append(f"| {row['label']} | {float(row['inside_fraction']):.1%} | {float(row['outside_fraction']):.1%} "
                     f"| {float(row['brain_voxel_fraction']):.1%} |")
    for png in sorted((ctx.out / "explain").glob("*.png")):
        lines += ["", f"![{png.stem}]({ctx.rel(png)})"]
    return lines


def segment(ctx: Context) -> list[str]:
    """Hippocampus U-Net trained on the HarP-layout phantoms, scored on HarP's own test split."""
    from brainmri.segment.demo import demo_segment

    out = ctx.out / "segment"
    result = demo_segment(out, epochs=SIZES[ctx.size]["segment_epochs"], seed=ctx.seed, device="auto",
                          root=ctx.made["adni_root"])
    test = result["test"]
    lines = [f"Run folder `{ctx.rel(Path(result['run']))}`; labels of the {result['n_test']} held-out heads "
             f"(Labels_35) on each scan's own grid in `{ctx.rel(Path(result['predictions']))}`.", "",
             "| side | Dice (mean +- sd) | HD95 mm (mean +- sd) |", "|---|---|---|"]
    for side in ("left", "right"):
        d, h = test[f"dice_{side}"], test[f"hd95_{side}"]
        lines.append(f"| {side} | {d['mean']:.3f} +- {d['sd']:.3f} | {h['mean']:.2f} +- {h['sd']:.2f} |")
    run_page = Path(result["run"]) / "report.html"
    pages = [f"[run report]({ctx.rel(run_page)})"] if run_page.is_file() else []
    if result.get("qc_page"):
        pages.append(f"[QC page of the held-out predictions]({ctx.rel(Path(result['qc_page']))})")
    lines += ["", f"Per subject: `{ctx.rel(Path(result['evaluation_csv']))}`.", "",
              f"![held-out phantom]({ctx.rel(Path(result['overlay']))})", "", "Pages: " + ", ".join(pages)]
    if ctx.scans:
        from brainmri.segment.predict import predict_scans

        mine = out / "your_scans"
        report = predict_scans(result["run"], ctx.scans, mine, device="auto", on_error="skip")
        lines += ["", f"Your scans segmented in their own grids: `{ctx.rel(mine)}` ({len(report.done)} done). "
                  "The model saw only phantoms, so on a real head its labels show the plumbing (native grid, "
                  "left = world x < 0), not a hippocampus; train on HarP for that."]
    return lines


STEPS = [
    ("Synthetic data", synth),
    ("Preprocessing (one resample)", preprocess),
    ("Brain extraction (HD-BET)", skullstrip),
    ("Sex and age (brainmri-classify, brainmri-regress)", tasks),
    ("Grad-CAM (brainmri-explain)", explain),
    ("Hippocampus segmentation (brainmri-segment)", segment),
]
