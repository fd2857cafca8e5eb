"""The brainmri demo: every package end to end on synthetic data, and on a scan you name.

    python demo/run_demo.py --out demo-output [SCAN.nii.gz ...]

Writes ``OUT/REPORT.md`` (start there) with the figures and pictures of each step.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from steps import STEPS, Context  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scans", nargs="*", help="your own scans (any orientation, NIfTI/MGZ/MINC)")
    parser.add_argument("--out", default="demo-output", help="output folder (default: demo-output)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smaller data and shorter training (smoke test)")
    args = parser.parse_args(argv)

    from brainmri.core.errors import BrainmriError
    from brainmri.core.warnlines import clean_warnings

    ctx = Context(out=Path(args.out).resolve(), scans=[Path(s).resolve() for s in args.scans], seed=args.seed,
                  quick=args.quick)
    ctx.out.mkdir(parents=True, exist_ok=True)
    report = ["# brainmri demo report", ""]
    if ctx.scans:
        report.append("Your scans: " + ", ".join(f"`{s}`" for s in ctx.scans))
        report.append("")
    for title, step in STEPS:
        print(f"\n=== {title} ===", flush=True)
        start = time.perf_counter()
        try:
            lines = step(ctx)
        except BrainmriError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - start
        report += [f"## {title}", "", *lines, "", f"_{seconds:.0f} s_", ""]
        (ctx.out / "REPORT.md").write_text("\n".join(report))
        print(f"--- {title}: {seconds:.0f} s", flush=True)
    print(f"\nDone. Open {ctx.out / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
