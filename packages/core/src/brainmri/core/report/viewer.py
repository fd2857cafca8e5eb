"""Scans a QC page opens in NiiVue, the field's web viewer, bundled: nothing is fetched from a CDN.

Chromium does not let a page opened from disk read other files with JavaScript, so each scan
travels inside a small ``<stem>.js`` file that a ``<script>`` tag loads when the scan is opened:
the scan on an exact RAS view, sub-sampled to about 2 mm, as uint8 (its 0.5-99.5 percentile
range), plus its overlay, each a base64 gzipped NIfTI that NiiVue decodes
(``NVImage.loadFromBase64``). The viewer's JavaScript (``niivue.umd.js``, NiiVue 0.69.0,
BSD-2-Clause) and its LICENSE are copied beside the page once.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..volume import Volume
from .page import files_dir

#: The bundled viewer: file names in ``brainmri/core/report/static/niivue/``.
BUNDLE = ("niivue.umd.js", "LICENSE")
#: Voxel size (mm) scans are sub-sampled to, at most (whole voxel strides, no interpolation).
VIEWER_MM = 2.0
#: NiiVue colour map, display range and opacity of each overlay kind (values as stored: uint8).
OVERLAYS = {
    "mask": {"colormap": "red", "cal_min": 0.5, "cal_max": 1.0, "opacity": 0.45},
    "labels": {"colormap": "jet", "cal_min": 0.5, "cal_max": 2.5, "opacity": 0.6},
    "heat": {"colormap": "warm", "cal_min": 50.0, "cal_max": 255.0, "opacity": 0.6},
}


def viewer_path(folder: str | os.PathLike, scan: str | os.PathLike) -> Path:
    """``FOLDER/<scan_stem>.js``: a scan's viewer data."""
    from ..io import scan_stem

    return Path(folder) / f"{scan_stem(scan)}.js"


def _nifti_base64(data: np.ndarray, affine: np.ndarray) -> str:
    import nibabel as nib

    image = nib.Nifti1Image(np.ascontiguousarray(data), affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    return base64.b64encode(gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)).decode("ascii")


def _to_uint8(data: np.ndarray, positive: bool = False) -> np.ndarray:
    data = np.nan_to_num(np.asarray(data, dtype=np.float32))
    if positive:
        lo, hi = 0.0, float(data.max())
    else:
        lo, hi = (float(v) for v in np.percentile(data, [0.5, 99.5])) if data.size else (0.0, 1.0)
    scaled = (np.clip(data, lo, hi) - lo) / ((hi - lo) or 1.0)
    return np.rint(scaled * 255).astype(np.uint8)


def write_viewer_data(
    folder: str | os.PathLike,
    scan: str | os.PathLike,
    volume: Volume,
    overlay: np.ndarray | None = None,
    kind: str = "mask",
) -> Path:
    """Write a scan (and its overlay) as the viewer data a QC page loads (atomically).

    Args:
        folder: The page's picture folder.
        scan: The scan's file (names the data file and the entry).
        volume: The scan, any orientation.
        overlay: ``(X, Y, Z)`` on the scan's grid: a mask, labels (small integers) or a heat map.
        kind: ``mask``, ``labels`` or ``heat`` (its colour map; heat maps show their positive part).

    Returns:
        ``FOLDER/<stem>.js``.
    """
    from ..atomic import write_text_atomic
    from ..plotting import ras_view

    ras, arrays = ras_view(volume, *(() if overlay is None else (np.asarray(overlay),)))
    step = [max(1, int(VIEWER_MM / s + 1e-6)) for s in ras.spacing]
    take = tuple(slice(None, None, k) for k in step)
    affine = ras.affine @ np.diag([*step, 1.0])
    entry: dict[str, object] = {"name": Path(scan).name, "image": _nifti_base64(_to_uint8(ras.data[take]), affine)}
    if overlay is not None:
        cut = arrays[0][take]
        data = _to_uint8(cut, positive=True) if kind == "heat" else np.clip(cut, 0, 255).astype(np.uint8)
        entry.update(overlay=_nifti_base64(data, affine), **OVERLAYS[kind])
    path = viewer_path(folder, scan)
    text = (
        f"(window.brainmriVolumes = window.brainmriVolumes || {{}})[{json.dumps(path.stem)}] = {json.dumps(entry)};\n"
    )
    write_text_atomic(path, text)
    return path


def copy_bundle(page: str | os.PathLike) -> Path:
    """Copy the viewer's JavaScript and LICENSE into the page's folder (once); the folder."""
    folder = files_dir(page)
    folder.mkdir(parents=True, exist_ok=True)
    for name in BUNDLE:
        source = files("brainmri.core.report") / "static" / "niivue" / name
        target = folder / name
        if not target.is_file() or target.stat().st_size != len(source.read_bytes()):
            with source.open("rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return folder


def viewer_tags(page: str | os.PathLike) -> str:
    """The HTML a page needs for its viewer: the bundle (copied beside it) and the viewer's script."""
    from .page import _static

    folder = copy_bundle(page)
    rel = Path(os.path.relpath(folder, Path(page).parent)).as_posix()
    return (
        f'<div id="viewer"><div class="bar"><span id="viewer-name"></span>'
        f"<span>NiiVue (neurological: the patient's left on the left) "
        f'<button id="viewer-close" type="button">close</button></span></div>'
        f'<canvas id="viewer-canvas"></canvas></div>\n'
        f'<script src="{rel}/niivue.umd.js"></script>\n<script>\n{_static("viewer.js")}\n</script>'
    )


__all__ = ["BUNDLE", "OVERLAYS", "VIEWER_MM", "copy_bundle", "viewer_path", "viewer_tags", "write_viewer_data"]
