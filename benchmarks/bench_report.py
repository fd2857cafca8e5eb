"""QC-page cost: what ``report.html`` adds to a skull-strip batch of the IXI-HH scans (target < 5%).

The batch (``run_skullstrip`` without pictures: HD-BET and the QC numbers) is timed once over the
scans; then, per scan, what the page adds while the scan and its mask are in memory (the mosaic
PNG through ``overlay_png`` and the NiiVue data ``<stem>.js``), then the page itself
(``write_skullstrip_page``). Loading the scan and mask again for the second part is not counted:
the command draws them while they are in memory. Also: a page of 1,000 scans (the IXI rows
repeated) opened in headless Chromium: seconds to a usable page, rows rendered at once.

    python benchmarks/bench_report.py [--limit N | --quick] [--device auto] [--out FILE.json]

Needs ``../shared/data/ixi-hh`` (135 IXI-HH T1 scans) and brainmri-core[hdbet]; Chromium optional.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_json  # noqa: E402


def ixi_hh_scans(limit: int | None) -> list[Path]:
    from brainmri.core.testing import shared_path

    root = shared_path()
    folder = None if root is None else root / "data" / "ixi-hh"
    if folder is None or not folder.is_dir():
        sys.exit("needs ../shared/data/ixi-hh beside the repository (or BRAINMRI_SHARED)")
    scans = sorted(folder.glob("IXI*-T1.nii.gz"))
    return scans[:limit] if limit else scans


def page_of(n: int, page: Path, template) -> tuple[float, int]:
    """Open a page of ``n`` rows (copies of ``template``) in Chromium; seconds until it is usable."""
    from dataclasses import replace

    from brainmri.core.hdbet.report import COLUMNS
    from brainmri.core.report import write_batch_page
    from brainmri.core.testing.browser import Browser

    rows = [replace(template[i % len(template)], scan=f"{i:04d}_{template[i % len(template)].scan}") for i in range(n)]
    write_batch_page(page, "Skull-strip QC (1,000 rows)", COLUMNS, rows)
    with Browser(1400, 1000) as browser:
        start = time.perf_counter()
        tab = browser.open(page, ready="document.body.dataset.ready")
        seconds = time.perf_counter() - start
        shown = tab.evaluate("document.querySelectorAll('#rows tr').length")
    return seconds, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N scans only (default: all 135)")
    parser.add_argument("--quick", action="store_true", help="5 scans")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None, help="JSON results")
    args = parser.parse_args()

    from brainmri.core.hdbet import run_skullstrip
    from brainmri.core.hdbet.report import write_skullstrip_page
    from brainmri.core.io import load_volume
    from brainmri.core.plotting import overlay_png
    from brainmri.core.report import PAGE_NAME, files_dir, picture_path
    from brainmri.core.report.viewer import write_viewer_data

    scans = ixi_hh_scans(5 if args.quick and not args.limit else args.limit)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        out = Path(tmp) / "out"
        start = time.perf_counter()
        summary = run_skullstrip(scans, out, device=args.device, brain=False, echo=lambda line: None)
        batch_s = time.perf_counter() - start
        page = out / PAGE_NAME
        pictures = files_dir(page)
        mosaic_s = viewer_s = 0.0
        for scan, mask_file in summary.masks.items():
            volume, mask = load_volume(scan), load_volume(mask_file, check_values=False)
            t0 = time.perf_counter()
            overlay_png(volume, mask, picture_path(pictures, scan))
            t1 = time.perf_counter()
            write_viewer_data(pictures, scan, volume, mask.data, "mask")
            viewer_s += time.perf_counter() - t1
            mosaic_s += t1 - t0
        t0 = time.perf_counter()
        write_skullstrip_page(page, summary, out / "skullstrip.csv", pictures)
        page_s = time.perf_counter() - t0
        report_s = mosaic_s + viewer_s + page_s
        result = {
            "scans": len(scans),
            "batch_s": batch_s,
            "mosaics_s": mosaic_s,
            "viewer_data_s": viewer_s,
            "page_s": page_s,
            "report_s": report_s,
            "report_percent_of_batch": 100.0 * report_s / batch_s,
            "folder_mb": sum(p.stat().st_size for p in pictures.iterdir()) / 2**20,
        }
        from brainmri.core.testing.browser import find_chromium

        if find_chromium():
            from brainmri.core.hdbet import read_report
            from brainmri.core.io import scan_stem
            from brainmri.core.report import Row, scan_files

            table = read_report(out / "skullstrip.csv")
            template = [
                Row(Path(s).name, str(s), table.get(scan_stem(s), {}), (), **scan_files(pictures, s))
                for s in summary.masks
            ]
            result["page_1000_open_s"], result["page_1000_rows_rendered"] = page_of(1000, out / "big.html", template)
    print_table("QC page cost on a skull-strip batch", [result], list(result))
    write_json(args.out, result)


if __name__ == "__main__":
    main()
