"""What a second demo run finds: trained models it reuses, or removes with --force."""

from __future__ import annotations

import shutil
from pathlib import Path

#: Folders (under the demo's output) holding trained runs.
TRAINED = ("tasks", "segment")


def trained_runs(out: Path) -> list[Path]:
    """Run folders a previous demo left in ``out`` (a checkpoint inside)."""
    found = []
    for folder in TRAINED:
        found += sorted(p.parent.parent for p in (out / folder).glob("*/checkpoints/last.pt"))
    return found


def forget_trained(out: Path) -> list[Path]:
    """Remove the previous demo's trained runs (and their reports) so the demo retrains."""
    runs = trained_runs(out)
    for folder in TRAINED:
        shutil.rmtree(out / folder, ignore_errors=True)
    return runs


def peak_memory_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB (Linux ru_maxrss)."""
    import resource

    usage = (resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return max(usage) / 1024.0
