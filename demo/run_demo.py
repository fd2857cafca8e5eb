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

from runs import forget_trained, peak_memory_mb, trained_runs  # noqa: E402
from steps import STEPS, Context  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scans", nargs="*", help="your own scans (any orientation, NIfTI/MGZ/MINC)")
    parser.add_argument("--out", default="demo-output", help="output folder (default: demo-output)")
    parser.add_argument("--seed", type=int, default=0)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", dest="size", const="quick",
                      help="tiny data, a few epochs: a smoke test of the plumbing, models barely trained")
    size.add_argument("--full", action="store_const", dest="size", const="full",
                      help="more data and epochs: models that learn more (the former default, 18.5 min on 2 cores)")
    parser.add_argument("--force", action="store_true",
                        help="retrain the models even when OUT holds them from an earlier run")
    args = parser.parse_args(argv)

    from brainmri.core.errors import BrainmriError
    from brainmri.core.warnlines import clean_warnings

    ctx = Context(out=Path(args.out).resolve(), scans=[Path(s).resolve() for s in args.scans], seed=args.seed,
                  size=args.size or "default")
    ctx.out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    report = ["# brainmri demo report", ""]
    if ctx.scans:
        report.append("Your scans: " + ", ".join(f"`{s}`" for s in ctx.scans))
        report.append("")
    if args.force and trained_runs(ctx.out):
        print(f"--force: retraining ({len(forget_trained(ctx.out))} earlier runs removed from {ctx.out})", flush=True)
    elif trained_runs(ctx.out):
        names = ", ".join(str(p.relative_to(ctx.out)) for p in trained_runs(ctx.out))
        note = (f"Reusing the models trained by an earlier demo in {ctx.out} ({names}); "
                "pass --force to retrain them.")
        print(note, flush=True)
        report += [f"_{note}_", ""]
    with clean_warnings():
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
    total = f"{time.perf_counter() - began:.0f} s wall time, peak memory {peak_memory_mb():.0f} MB"
    report += ["", f"Demo total: {total}.", ""]
    (ctx.out / "REPORT.md").write_text("\n".join(report))
    print(f"\nDone in {total}. Open {ctx.out / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
