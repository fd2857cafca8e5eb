"""Shared benchmark helpers: timing, peak memory, where the real scans are, result tables."""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path


def shared_real() -> Path:
    """``../shared/data/real`` beside the repository (benchmarks need the real scans)."""
    from brainmri.core.testing import shared_path

    root = shared_path()
    if root is None or not (root / "data" / "real").is_dir():
        sys.exit("benchmarks need ../shared/data/real beside the repository (or BRAINMRI_SHARED)")
    return root / "data" / "real"


def timeit(func: Callable[[], object], repeat: int = 3, warmup: int = 1) -> float:
    """Median wall seconds of ``func`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_json_worker(cmd: list[str], label: str, timeout: float, cwd=None) -> dict | None:
    """Run a benchmark worker process whose last stdout line is JSON; None (and a note) on failure."""
    import json
    import subprocess

    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        print(f"  {label}: no result within {timeout} s", flush=True)
        return None
    if proc.returncode != 0:
        print(f"  {label} failed:\n{proc.stderr[-2000:]}", flush=True)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def print_table(title: str, rows: list[dict], columns: list[str]) -> None:
    """A plain aligned table on stdout."""
    print(f"\n## {title}")
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(columns, widths)))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def write_json(path: str | None, data: dict) -> None:
    """Save results as JSON when ``--out`` was given."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=2))
