"""Run every benchmark in one go (``nox -s bench``), each printing ratios against its peer.

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = {
    "pipeline": "bench_pipeline.py",  # vs TorchIO Compose and scipy cubic (issue: core)
    "hdbet": "bench_hdbet.py",  # vs the original HD-BET code
    "skullstrip": "bench_skullstrip.py",  # HD-BET vs deepbet: speed, memory, agreement
    "training": "bench_training.py",  # vs the reference project's scipy data path
    "precision": "bench_precision.py",  # training step: fp32 vs bf16 autocast; vt1 vs its in-place ReLU
    "segment": "bench_segment.py",  # vs MONAI sliding_window_inference
    "explain": "bench_explain.py",  # Grad-CAM vs one forward+backward pass
    "report": "bench_report.py",  # what the skull-strip QC page adds to the batch (IXI-HH)
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=None, choices=sorted(BENCHES))
    parser.add_argument("--out", default="bench-output")
    args = parser.parse_args()
    failed = []
    for name, script in BENCHES.items():
        if args.only and name not in args.only:
            continue
        path = HERE / script
        if not path.exists():
            print(f"\n# {name}: {script} not present, skipped")
            continue
        print(f"\n# {name}", flush=True)
        cmd = [sys.executable, str(path), "--out", str(Path(args.out).resolve() / f"{name}.json")]
        if args.quick:
            cmd.append("--quick")
        if subprocess.run(cmd, cwd=HERE).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
