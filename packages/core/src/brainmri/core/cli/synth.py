"""``brainmri-core synth``: write a synthetic dataset folder in a published layout."""

from __future__ import annotations

import click

from .options import handle_errors


@click.command("synth", short_help="Write a synthetic IXI, ADNI or MSD dataset folder.")
@click.argument("layout", type=click.Choice(["ixi", "adni", "msd"]))
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--subjects",
    "-n",
    type=click.IntRange(1, 100000),
    default=20,
    show_default=True,
    help="Usable subjects to write (quirk files come on top).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files.")
@click.option(
    "--masks/--no-masks",
    default=True,
    show_default=True,
    help="Also write brain masks as DIR/masks/<scan>_mask.nii.gz (ixi, adni).",
)
@click.option(
    "--quirks/--no-quirks",
    default=True,
    show_default=True,
    help="Plant the published datasets' quirks (listed per layout above).",
)
@click.option("--overwrite", is_flag=True, help="Write into DIRECTORY even when it is not empty.")
@handle_errors
def command(layout, directory, subjects, seed, masks, quirks, overwrite):
    """Write a synthetic dataset in LAYOUT to DIRECTORY, for trying and testing brainmri.

    Every scan is a head-like phantom (scalp, skull, face and jaw, CSF, grey and white
    matter, ventricles, left and right hippocampi) in its own random orientation (RAS, LIA,
    PIL, ...) and voxel size (1.9-2.5 mm), with intensity bias and noise. Anatomy depends on
    sex (head size, skull and jaw thickness) and age (ventricles, CSF, cortex, hippocampi),
    so sex classification, age regression and hippocampus segmentation are learnable.

    \b
    ixi   DIR/IXI-T1/IXI<ID>-<Site>-<NNNN>-T1.nii.gz and DIR/IXI.xls (IXI.csv without xlwt).
          Quirks: rows with no image, an image with no row, a duplicated row, conflicting
          duplicate rows, an empty and a zero age.
    adni  EADC-ADNI HarP: DIR/ADNI/<site>_S_<subj>/.../ADNI_..._I<id>.nii(.gz),
          DIR/Labels_100_NIFTI (train) and Labels_35_NIFTI (test) with
          ADNI_<site>_S_<subj>_<id>_L/_R.nii(.gz), DIR/HarP_demographics.csv.
          Quirks: offset-valued labels, CSF label files, a second unlabelled scan,
          a label with no scan, .nii and .nii.gz mixed.
    msd   MSD Task04: DIR/dataset.json, imagesTr/, labelsTr/ (1 anterior, 2 posterior),
          imagesTs/. Quirks: macOS ._ junk files beside the scans.

    DIR/synth_manifest.json records the truth (sex, age, grid per subject), every quirk
    planted and the counts a reader should report.
    """
    from pathlib import Path

    from ..synth import WRITERS

    manifest = WRITERS[layout](
        directory, subjects, seed, masks=masks, quirks=quirks, overwrite=overwrite, show_progress=True
    )
    expected = manifest["expected"]
    parts = ", ".join(f"{v} {k}" for k, v in expected.items())
    click.echo(f"wrote synthetic {layout} to {directory}: {parts}")
    planted = {k: v for k, v in manifest.get("quirks", {}).items() if v and not k.endswith("_path")}
    if planted:
        click.echo(
            "quirks planted: "
            + "; ".join(f"{k} {len(v) if isinstance(v, (list, dict)) else v}" for k, v in planted.items())
        )
    dataset = "adni" if layout == "adni" else layout
    click.echo(
        f"manifest: {Path(directory) / 'synth_manifest.json'}; read it with --dataset {dataset} --root {directory}"
    )
