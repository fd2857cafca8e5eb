"""Brain extraction backends side by side: HD-BET v1 (fast; accurate+TTA on CUDA) and deepbet.

Per backend, on the real scans of ``../shared/data/real`` (chris_t1 RAS, t1_lia LIA, chris_pd
anisotropic) and 20 IXI-HH scans (``../shared/data/ixi-hh``, 2 mm, PSR): seconds per scan for one
scan in a fresh process (networks loaded for it) and in a batch (networks loaded once), peak RSS of
the batch process, Dice against the HD-BET reference masks (real scans; made by the original code,
fast mode) and Dice between the backends (every scan). Each backend runs in its own process, so
peak RSS does not leak between them. On CUDA (``benchmarks/gpu.sh``): HD-BET accurate+TTA and
deepbet seconds per scan.

    python benchmarks/bench_skullstrip.py [--quick] [--ixi 20] [--device cpu|cuda] [--out FILE.json]

--quick: 5 IXI-HH scans instead of 20.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REAL = ("chris_t1.nii.gz", "t1_lia.nii.gz", "chris_pd.nii.gz")


def worker(args) -> dict:
    """One backend over ``args.scans`` in this process; masks saved as ``.npy`` under ``args.masks``."""
    import numpy as np
    import torch
    from _common import peak_rss_mb

    from brainmri.core import load_volume
    from brainmri.core.hdbet.batch import make_extractor

    volumes = [load_volume(s) for s in args.scans]  # decoded before timing
    start = time.perf_counter()
    extractor = make_extractor(args.backend, args.mode, args.tta, args.device)
    out = {
        "backend": args.backend,
        "mode": extractor.mode,
        "tta": extractor.tta,
        "device": args.device,
        "load_seconds": time.perf_counter() - start,
        "scans": [],
    }
    for path, vol in zip(args.scans, volumes):
        t = time.perf_counter()
        result = extractor.extract(vol)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t
        name = Path(path).name.removesuffix(".nii.gz")
        np.save(Path(args.masks) / f"{name}.npy", result.mask.data.astype(bool))
        out["scans"].append(
            {"scan": name, "seconds": seconds, "brain_cm3": result.qc.brain_cm3, "flags": list(result.qc.flags)}
        )
    out["total_seconds"] = time.perf_counter() - start
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def run_worker(backend: str, scans, device: str, masks: Path, mode=None, tta=False, timeout=7200) -> dict | None:
    from _common import run_json_worker

    cmd = (
        [
            sys.executable,
            str(HERE),
            "--worker",
            backend,
            "--device",
            device,
            "--masks",
            str(masks),
            "--scans",
            *map(str, scans),
        ]
        + (["--mode", mode] if mode else [])
        + (["--tta"] if tta else [])
    )
    masks.mkdir(parents=True, exist_ok=True)
    return run_json_worker(cmd, backend, timeout, cwd=HERE.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 IXI-HH scans instead of 20")
    parser.add_argument("--ixi", type=int, default=None, help="IXI-HH scans [default: 20, 5 with --quick]")
    parser.add_argument("--device", default=None, help="cpu or cuda [default: cuda when present]")
    parser.add_argument("--out", default=None, help="write results as JSON here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scans", nargs="*", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--masks", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tta", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.backend = args.worker
        print(json.dumps(worker(args)))
        return

    import numpy as np
    import torch
    from _common import print_table, shared_real, write_json

    from brainmri.core import load_volume
    from brainmri.core.testing.brainmasks import dice

    real = shared_real()
    ixi_dir = real.parent / "ixi-hh"
    n_ixi = args.ixi if args.ixi is not None else (5 if args.quick else 20)
    ixi = sorted(ixi_dir.glob("IXI*.nii.gz"))[:n_ixi] if ixi_dir.is_dir() else []
    scans = [real / s for s in REAL] + ixi
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    variants = [("hdbet", "fast", False), ("deepbet", None, False)]
    if device.startswith("cuda"):
        variants.insert(1, ("hdbet", "accurate", True))
    results = {"device": device, "cpu_threads": torch.get_num_threads(), "scans": [s.name for s in scans], "runs": []}
    rows, per_scan = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, mode, tta in variants:
            label = backend if backend == "deepbet" else f"hdbet {mode}{'+TTA' if tta else ''}"
            folder = Path(tmp) / label.replace(" ", "_").replace("+", "_")
            print(f"# {label}: one scan ...", flush=True)
            one = run_worker(backend, scans[:1], device, folder / "one", mode, tta)
            print(f"# {label}: batch of {len(scans)} ...", flush=True)
            batch = run_worker(backend, scans, device, folder / "batch", mode, tta)
            results["runs"].append({"label": label, "one": one, "batch": batch})
            if batch is None:
                continue
            secs = [s["seconds"] for s in batch["scans"]]
            real_dice = []
            for s in batch["scans"]:
                mask = np.load(folder / "batch" / f"{s['scan']}.npy")
                per_scan.setdefault(s["scan"], {})[label] = mask
                ref = real / "reference" / f"{s['scan']}_hdbet_fast_mask.nii.gz"
                if ref.is_file():
                    s["dice_reference"] = dice(mask, load_volume(ref, check_values=False).data)
                    real_dice.append(s["dice_reference"])
            rows.append(
                {
                    "backend": label,
                    "one_scan_s": one["total_seconds"] if one else None,
                    "batch_s_per_scan": batch["total_seconds"] / len(scans),
                    "median_scan_s": float(np.median(secs)),
                    "load_s": batch["load_seconds"],
                    "peak_rss_mb": batch["peak_rss_mb"],
                    "min_dice_ref": min(real_dice) if real_dice else None,
                    "flagged": sum(bool(s["flags"]) for s in batch["scans"]),
                }
            )
    labels = [r["backend"] for r in rows]
    between = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            d = {scan: dice(m[a], m[b]) for scan, m in per_scan.items() if a in m and b in m}
            if d:
                worst = min(d, key=d.get)
                between.append(
                    {
                        "pair": f"{a} vs {b}",
                        "scans": len(d),
                        "median_dice": float(np.median(list(d.values()))),
                        "min_dice": d[worst],
                        "worst_scan": worst,
                        "real_min_dice": min((v for k, v in d.items() if not k.startswith("IXI")), default=None),
                    }
                )
    print_table(
        f"brain extraction backends on {device} ({len(scans)} scans: 3 real + {len(ixi)} IXI-HH)",
        rows,
        [
            "backend",
            "one_scan_s",
            "batch_s_per_scan",
            "median_scan_s",
            "load_s",
            "peak_rss_mb",
            "min_dice_ref",
            "flagged",
        ],
    )
    print_table(
        "Dice between backends", between, ["pair", "scans", "median_dice", "min_dice", "worst_scan", "real_min_dice"]
    )
    results["table"], results["between"] = rows, between
    write_json(args.out, results)


if __name__ == "__main__":
    main()
