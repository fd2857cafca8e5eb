"""``brainmri-core info``: geometry and intensities of scans, one block (or JSON line) each."""

from __future__ import annotations

import json

import click

from ..batch import expand_scans, run_batch
from .options import handle_errors, on_error_option


def describe(path) -> dict:
    """Geometry and intensity summary of one scan (raises ScanError on bad input)."""
    import numpy as np

    from ..geometry import obliquity_deg
    from ..io import load_volume

    vol = load_volume(path, check_values=False)
    data = vol.data
    finite = np.isfinite(data) if data.dtype.kind == "f" else None
    info = {
        "path": str(path),
        "shape": list(vol.shape),
        "spacing_mm": [round(float(s), 4) for s in vol.spacing],
        "orientation": vol.orientation,
        "oblique_deg": round(obliquity_deg(vol.affine), 2),
        "dtype": str(data.dtype),
        "min": float(np.min(data[finite]) if finite is not None else data.min()),
        "max": float(np.max(data[finite]) if finite is not None else data.max()),
        "nonfinite_voxels": int(0 if finite is None else (~finite).sum()),
        "affine": [[round(float(v), 5) for v in row] for row in vol.affine],
    }
    hdr = vol.header
    if hdr is not None and hasattr(hdr, "get_qform"):
        info["qform_code"] = int(hdr.get_qform(coded=True)[1])
        info["sform_code"] = int(hdr.get_sform(coded=True)[1])
    return info


@click.command("info", short_help="Shape, voxel size, orientation and range of scans.")
@click.argument("scans", nargs=-1, required=True, type=click.Path(readable=False))  # unreadable: our one-line error
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of text.")
@on_error_option
@handle_errors
def command(scans, as_json, on_error):
    """Print shape, voxel size, orientation, intensity range and affine of each SCAN.

    SCAN may be a file or a folder (searched recursively for NIfTI/MGZ/MINC files). Scans
    the other commands refuse for their values (NaN/Inf voxels, a constant image) are
    described, with a warning line on stderr; unreadable ones give an error line.
    """

    def show(path):
        info = describe(path)
        # Values that the other commands refuse: described here, with one warning line each.
        if info["nonfinite_voxels"]:
            click.echo(f"warning: {path}: contains {info['nonfinite_voxels']} NaN or Inf voxels", err=True)
        elif info["min"] == info["max"]:
            click.echo(f"warning: {path}: is constant (every voxel is {info['min']:g})", err=True)
        if as_json:
            click.echo(json.dumps(info))
        else:
            click.echo(f"{info['path']}")
            tilt = f" (closest axes: oblique, tilted {info['oblique_deg']:g} deg)" if info["oblique_deg"] >= 0.1 else ""
            click.echo(f"  shape {tuple(info['shape'])}  voxel {tuple(info['spacing_mm'])} mm  "
                       f"{info['orientation']}{tilt}"
                       f"  {info['dtype']}  range [{info['min']:g}, {info['max']:g}]")
            for row in info["affine"][:3]:
                click.echo("  affine " + " ".join(f"{v:10.4f}" for v in row))
        return info

    report = run_batch(expand_scans(scans, skip_labels=False), show, on_error, desc="info", log_lines=False)
    if report.skipped:
        report.echo_summary("scans")
        raise SystemExit(1 if not report.done else 0)
