"""``brainmri-core preprocess``: scans -> model-ready tensors on the target grid, as NIfTI."""

from __future__ import annotations

import click

from .options import (
    device_option,
    glob_option,
    handle_errors,
    on_error_option,
    shape_option,
    shard_option,
    spacing_option,
)


@click.command("preprocess", short_help="Resample scans onto a model grid in one interpolation.")
@click.argument("scans", nargs=-1, required=True, type=click.Path(readable=False))  # unreadable: our one-line error
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--preset", type=click.Choice(["default", "vt1"]), default="default", show_default=True,
              help="Pipeline preset (vt1: the reference project's cubic preprocessing).")
@spacing_option(help="Target voxel size in mm: X Y Z, or one value (isotropic).")
@shape_option(help="Target grid shape in voxels: X Y Z, or one value for all axes.")
@click.option("--mask-dir", type=click.Path(file_okay=False), default=None,
              help="Folder of brain masks <name>_mask.nii.gz: output is brain only.")
@click.option("--skull-strip", is_flag=True, help="Compute missing brain masks with HD-BET (cached in --mask-dir "
              "or OUT/masks) and output brain only.")
@click.option("--png", is_flag=True, help="Also write OUT/<name>_preproc.png: the scan as stored, with the "
              "outline of what the model grid covers (and of the brain mask).")
@device_option
@glob_option
@shard_option
@on_error_option
@handle_errors
def command(scans, out_dir, preset, spacing, shape, mask_dir, skull_strip, png, device, glob, shard, on_error):
    """Resample each SCAN onto a world-aligned (RAS) grid in one interpolation and z-score it.

    Writes OUT/<name>_preproc.nii.gz (float32, the exact target-grid affine, opens in FSLeyes
    or ITK-SNAP over the original scan) and OUT/preprocess.json (the pipeline config). With
    --png, OUT/<name>_preproc.png shows the scan as stored with the outline of the model grid.
    """
    import json
    from pathlib import Path

    from ..atomic import write_text_atomic
    from ..batch import run_batch, shard_name, shard_scans
    from ..errors import ScanError
    from ..io import load_volume, save_volume, scan_stem
    from ..pipeline import Pipeline, PipelineConfig
    from ..pipeline.config import AugmentConfig

    out = Path(out_dir)
    paths = shard_scans(scans, shard, glob)
    if not paths:
        return
    overrides = {"augment": AugmentConfig()}  # preprocess never augments: preprocess.json says so
    if spacing is not None:
        overrides["spacing"] = spacing
    if shape:
        overrides["shape"] = tuple(shape)
    masks: dict = {}
    if skull_strip:
        from ..hdbet import ensure_masks
        from ..hdbet.batch import REPORT_NAME

        mask_dir = mask_dir or str(out / "masks")
        masks = ensure_masks(paths, mask_dir, device=device, on_error=on_error,
                             report_name=shard_name(REPORT_NAME, shard))
    if mask_dir:
        overrides["apply_mask"] = True
    config = PipelineConfig.preset(preset, **overrides)
    pipe = Pipeline(config, device)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "preprocess.json", json.dumps(config.to_dict(), indent=2))

    def one(path: Path):
        vol = load_volume(path)
        mask = None
        if mask_dir:
            mpath = Path(masks.get(path) or Path(mask_dir) / f"{scan_stem(path)}_mask.nii.gz")
            if not mpath.exists():
                raise ScanError(path, f"no brain mask {mpath}")
            mask = load_volume(mpath, check_values=False)
        batch = pipe.preprocess(vol, mask)
        target = out / f"{scan_stem(path)}_preproc.nii.gz"
        save_volume(batch.image[0, 0].cpu().numpy(), target, affine=batch.affine[0])
        if png:
            _picture(vol, mask, pipe, batch, out / f"{scan_stem(path)}_preproc.png")
        return target

    report = run_batch(paths, one, on_error, desc="preprocess")
    report.conclude("scans")


def _picture(volume, mask, pipe, batch, path) -> None:
    """The user's scan as stored, the model grid's field of view (dashed) and the brain mask."""
    import torch

    from ..plotting import PALETTE, Layer, save_orthoview

    covered = pipe.to_native(torch.ones_like(batch.image[:, :1]), batch)[0][0].cpu().numpy() > 0.5
    layers = [Layer(covered.astype("uint8"), "contour", colour=PALETTE["reference"], linestyle="dashed",
                    label="model grid (field of view)")]
    if mask is not None:
        layers.append(Layer((mask.data > 0).astype("uint8"), "contour", colour=PALETTE["mask"], label="brain mask"))
    grid = " x ".join(map(str, pipe.config.shape))
    spacing = " x ".join(f"{s:g}" for s in pipe.config.spacing)
    save_orthoview(volume, path, layers, title=f"{path.name.removesuffix('_preproc.png')}: grid {grid} at {spacing} mm")
