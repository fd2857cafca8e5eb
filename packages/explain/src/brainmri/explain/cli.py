"""Command line of brainmri-explain."""

from __future__ import annotations

import click

from brainmri.core.cli.options import (
    device_option,
    glob_option,
    handle_errors,
    on_error_option,
    report_option,
    shard_option,
)

from ._version import __version__

_METHODS = ("gradcam", "guided-gradcam", "integrated-gradients")

# A run folder, a .bmri file from `export`, or its URL#sha256=... (load_run reads all three).
_run_argument = click.argument("run", type=click.Path())
_method_option = click.option("--method", type=click.Choice(_METHODS), default="gradcam", show_default=True,
                              help="Captum method: LayerGradCam, Guided Grad-CAM or IntegratedGradients.")
_layer_option = click.option("--layer", default=None,
                             help="Module hooked by Grad-CAM (default: the last convolutional block; "
                                  "see `brainmri-explain layers RUN`).")
_target_option = click.option(
    "--target", default=None,
    help="Class index to explain (classify: default the predicted class; segment: default the largest "
         "predicted class). Regression explains the age output.")
_mask_option = click.option("--mask-dir", type=click.Path(exists=True, file_okay=False),
                            help="Brain masks (<scan>_mask.nii.gz): inside/outside-brain fractions, and the "
                                 "input of brain-only models.")
_checkpoint_option = click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best",
                                  show_default=True, help="Which checkpoint of RUN (a .bmri holds one).")
_steps_option = click.option("--steps", type=int, default=32, show_default=True,
                             help="Integration steps of integrated-gradients.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brainmri-explain")
def main() -> None:
    """brainmri-explain: 3D Grad-CAM and attribution maps for trained brainmri models (Captum)."""


@main.command("gradcam", short_help="Grad-CAM and other attribution maps of scans.")
@_run_argument
@click.argument("scans", nargs=-1, required=True, type=click.Path(readable=False))  # unreadable: our one-line error
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder for maps, montages and regions.csv.")
@_layer_option
@_target_option
@_method_option
@_mask_option
@_steps_option
@_checkpoint_option
@click.option("--montage/--no-montage", default=True, show_default=True, help="Write a PNG montage per scan.")
@device_option
@report_option
@glob_option
@shard_option
@on_error_option
@handle_errors
def gradcam(run, scans, out_dir, layer, target, method, mask_dir, steps, checkpoint, montage, device,
            report, glob, shard, on_error):
    """Explain RUN's predictions on SCAN... (files or folders, any orientation).

    Writes, per scan, <name>_gradcam.nii.gz (float32, the scan's own shape and affine, ready to
    overlay in FSLeyes; other methods: _guided_gradcam, _integrated_gradients), a PNG montage
    of the map over the scan through the planes holding most of it, OUT/regions.csv with the
    share of positive attribution inside and outside the brain mask (with --mask-dir), and
    OUT/report.html: each scan's montage and numbers, flagged scans first (most attribution
    outside the brain), to rate and export.
    """

    from brainmri.core.batch import shard_name, shard_scans

    from .workflow import explain_scans

    paths = shard_scans(scans, shard, glob)
    if not paths:
        return
    from pathlib import Path

    from brainmri.core.report import PAGE_NAME, files_dir

    page = Path(out_dir) / shard_name(PAGE_NAME, shard)
    batch = explain_scans(run, paths, out_dir, method=method, layer=layer, target=target,
                          mask_dir=mask_dir, steps=steps, device=device, checkpoint=checkpoint,
                          montage=montage, on_error=on_error, table_name=shard_name("regions.csv", shard),
                          viewer_dir=files_dir(page) if report else None)
    if report:
        from .report import write_gradcam_page

        write_gradcam_page(page, batch, method)
        click.echo(f"QC page: {page}", err=True)
    for row in batch.done:
        inside = row.get("inside_fraction")
        extra = f", inside brain {inside:.1%}" if isinstance(inside, float) and inside == inside else ""
        click.echo(f"{row['map']}  ({row['target']}{extra})")
    batch.conclude("scans")


@main.command("layers", short_help="List a run's layers (names for --layer).")
@_run_argument
@_checkpoint_option
@device_option
@handle_errors
def layers(run, checkpoint, device):
    """List RUN's convolutional modules (names for --layer) with their output shapes; * marks the default."""
    from .layers import conv_layers, default_layer
    from .workflow import open_run

    opened = open_run(run, device, checkpoint)
    shape = opened.input_shape()
    default = default_layer(opened.model, shape, opened.preferred_layer)
    infos = conv_layers(opened.model, shape)
    width = max(len(i.name) for i in infos)
    for info in infos:
        mark = "*" if info.name == default else " "
        shape = info.out_shape
        out = "x".join(str(s) for s in shape[2:]) if len(shape) == 5 else str(shape)
        click.echo(f"{mark} {info.name.ljust(width)}  {info.kind:<16} {out}")


@main.command("sanity", short_help="Model-randomisation sanity check of a method.")
@_run_argument
@click.argument("scan", type=click.Path(readable=False))  # unreadable: our one-line error
@_method_option
@_layer_option
@_target_option
@_mask_option
@_steps_option
@click.option("--threshold", type=float, default=0.9, show_default=True,
              help="Flag the method when |Spearman| of the fully randomised map stays above this.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the re-initialisation.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write the report as JSON.")
@_checkpoint_option
@device_option
@handle_errors
def sanity(run, scan, method, layer, target, mask_dir, steps, threshold, seed, output, checkpoint, device):
    """Model-randomisation sanity check (Adebayo et al. 2018) of a method on SCAN.

    Re-initialises RUN's layers from the head down, one more at each step, and prints the
    Spearman rank correlation of each map with the trained model's map. A map that does not
    change when the weights are destroyed explains the input, not the model: it is flagged.
    """
    import json
    from pathlib import Path

    from brainmri.core.atomic import write_text_atomic
    from brainmri.core.datasets import MaskFinder
    from brainmri.core.io import load_volume

    from .sanity import sanity_check_volume
    from .workflow import load_mask, open_run

    opened = open_run(run, device, checkpoint)
    volume = load_volume(scan)
    finder = MaskFinder(mask_dir) if mask_dir is not None else None
    mask = load_mask(finder, Path(scan), opened.predictor.needs_mask) if (
        finder is not None or opened.predictor.needs_mask) else None
    report = sanity_check_volume(opened.model, opened.predictor, volume, mask, method=method, layer=layer,
                                 target=target, threshold=threshold, seed=seed, progress=True,
                                 task=opened.task, task_config=opened.config.get("task_config"),
                                 preferred_layer=opened.preferred_layer, steps=steps)
    click.echo(f"{'step':>4}  {'spearman':>8}  randomised (cumulative, head first)")
    for n, step in enumerate(report.steps, start=1):
        note = f"  [{step.note}]" if step.note else ""
        click.echo(f"{n:>4}  {step.spearman:>8.3f}  {', '.join(step.randomized)}{note}")
    verdict = ("FLAGGED: the map does not depend on the weights" if report.flagged
               else "passed: the map follows the weights")
    final = abs(report.final_spearman)
    click.echo(f"{method}: final |spearman| {final:.3f} vs threshold {threshold}: {verdict}")
    if output:
        data = {"run": str(run), "scan": str(scan), "method": method, **report.to_dict()}
        write_text_atomic(Path(output), json.dumps(data, indent=2) + "\n")
