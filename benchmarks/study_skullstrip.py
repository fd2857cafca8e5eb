"""Whole-study report of two ``skullstrip`` output folders (e.g. ``--backend hdbet`` and ``deepbet``).

Per folder: scans done, QC flag rate (as recorded, and under the current thresholds of
``brainmri.core.hdbet.qc``, recomputed from the recorded figures), flags by kind, and the brain
volume distribution (cm3); between the folders: the per-scan Dice of the masks, its distribution,
and the worst cases named with both volumes.

    python benchmarks/study_skullstrip.py /work/cache/study-hdbet /work/cache/study-deepbet \\
        [--worst 8] [--out report.json] [--calibrate ../shared/data/ixi-hh]

How the folders were made (issue #16, item 3), one call per backend over all 135 IXI-HH scans:

    brainmri-core skullstrip ../shared/data/ixi-hh/*.nii.gz -o study-hdbet --device cpu --on-error skip
    brainmri-core skullstrip ../shared/data/ixi-hh/*.nii.gz -o study-deepbet --backend deepbet \\
        --device cpu --on-error skip

Run under ``/usr/bin/time -v`` to get each batch's peak RSS (the "Maximum resident set size").
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from pathlib import Path


def _quantiles(values: list[float]) -> dict:
    import numpy as np

    if not values:
        return {}
    v = np.asarray(values, dtype=float)
    q = np.percentile(v, [0, 5, 25, 50, 75, 95, 100])
    keys = ("min", "p5", "p25", "median", "p75", "p95", "max")
    out = {k: round(float(x), 4) for k, x in zip(keys, q)}
    out["mean"], out["sd"] = round(float(v.mean()), 4), round(float(v.std(ddof=1)) if v.size > 1 else 0.0, 4)
    return out


def folder_summary(folder: Path) -> dict:
    """Flag rates and volumes of one skullstrip folder (every report in it, shards included)."""
    from brainmri.core.hdbet.batch import read_reports
    from brainmri.core.hdbet.qc import flags_of

    rows = read_reports(folder)
    recorded, current = Counter(), Counter()
    flagged_recorded, flagged_now, volumes = [], [], []
    for stem, row in sorted(rows.items()):
        cm3 = float(row["brain_cm3"])
        volumes.append(cm3)
        flags = [f for f in (row.get("flags") or "").split(";") if f]
        recorded.update(flags)
        if flags:
            flagged_recorded.append((stem, ";".join(flags)))
        now = flags_of(
            cm3,
            float(row["lr_asymmetry"]),
            float(row["largest_fraction"]),
            float(row["border_fraction"]),
            row["already_stripped"] == "True",
        )
        current.update(now)
        if now:
            flagged_now.append((stem, ";".join(now)))
    backends = sorted({row.get("backend") or "hdbet" for row in rows.values()})
    n = len(rows)
    return {
        "folder": str(folder),
        "backend": ",".join(backends),
        "scans": n,
        "flag_rate_recorded": len(flagged_recorded) / n if n else None,
        "flag_rate_current_thresholds": len(flagged_now) / n if n else None,
        "flags_recorded": dict(recorded),
        "flags_current": dict(current),
        "flagged_current": flagged_now,
        "brain_cm3": _quantiles(volumes),
        "seconds_per_scan_median": statistics.median(float(r["seconds"]) for r in rows.values()) if n else None,
        "volumes": {stem: float(r["brain_cm3"]) for stem, r in rows.items()},
    }


def dice_between(a: Path, b: Path, stems) -> dict[str, float]:
    """Dice of ``<stem>_mask.nii.gz`` in folders ``a`` and ``b`` (same grid: both are on the scan's)."""
    import nibabel as nib
    import numpy as np

    out = {}
    for stem in stems:
        ma, mb = a / f"{stem}_mask.nii.gz", b / f"{stem}_mask.nii.gz"
        if not (ma.is_file() and mb.is_file()):
            continue
        x = np.asanyarray(nib.load(str(ma)).dataobj) > 0
        y = np.asanyarray(nib.load(str(mb)).dataobj) > 0
        total = np.count_nonzero(x) + np.count_nonzero(y)
        out[stem] = float(2 * np.count_nonzero(x & y) / total) if total else 1.0
    return out


def calibration(ixi_dir: Path) -> dict:
    """QC figures of right and of broken masks on every IXI-HH head (no network).

    Right masks: DLMUSE's brain (labels > 0, ``labels/<scan>_dlmuse.nii.gz``), independent of
    brainmri. Broken: one hemisphere of it; and the brain-only scan (outside the mask dilated by
    one voxel set to 0). Gives the ranges that ``brainmri.core.hdbet.qc`` thresholds sit between.
    """
    import numpy as np
    from scipy import ndimage as ndi

    from brainmri.core import load_volume
    from brainmri.core.hdbet import check_mask
    from brainmri.core.hdbet.qc import signal_cm3

    figures: dict[str, list] = {
        k: []
        for k in ("brain_cm3", "lr_asymmetry", "border_fraction", "signal_cm3", "half_asymmetry", "stripped_signal_cm3")
    }
    flagged = {"right": 0, "half": 0, "stripped": 0, "scans": 0}
    for path in sorted(ixi_dir.glob("IXI*.nii.gz")):
        labels = ixi_dir / "labels" / path.name.replace(".nii.gz", "_dlmuse.nii.gz")
        if not labels.is_file():
            continue
        vol = load_volume(path)
        brain = load_volume(labels, check_values=False).data > 0
        qc = check_mask(vol, brain)
        idx = np.argwhere(brain)
        x = idx @ vol.affine[0, :3] + vol.affine[0, 3]
        half = brain.copy()
        half[tuple(idx[x < np.median(x)].T)] = False
        half_qc = check_mask(vol, half)
        stripped = np.where(ndi.binary_dilation(brain), vol.data, 0)
        stripped_qc = check_mask(vol.with_data(stripped.astype(vol.data.dtype)), brain)
        for key, value in (
            ("brain_cm3", qc.brain_cm3),
            ("lr_asymmetry", qc.lr_asymmetry),
            ("border_fraction", qc.border_fraction),
            ("signal_cm3", signal_cm3(vol.data, vol.affine)),
            ("half_asymmetry", half_qc.lr_asymmetry),
            ("stripped_signal_cm3", signal_cm3(stripped, vol.affine)),
        ):
            figures[key].append(float(value))
        flagged["scans"] += 1
        flagged["right"] += not qc.ok
        flagged["half"] += not half_qc.ok
        flagged["stripped"] += stripped_qc.already_stripped
        print(f"  {path.name}: {qc.brain_cm3:.0f} cm3, flags {list(qc.flags)}", flush=True)
    return {"flagged": flagged, "figures": {k: _quantiles(v) for k, v in figures.items()}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs=2, type=Path, help="two skullstrip output folders")
    parser.add_argument("--worst", type=int, default=8, help="worst Dice cases to name")
    parser.add_argument("--out", help="also write the report as JSON")
    parser.add_argument(
        "--calibrate",
        type=Path,
        default=None,
        metavar="IXI_DIR",
        help="also the QC calibration on every head of IXI_DIR with DLMUSE labels (no network)",
    )
    args = parser.parse_args(argv)

    summaries = [folder_summary(f) for f in args.folders]
    for s in summaries:
        print(f"\n## {s['backend']} ({s['folder']}): {s['scans']} scans")
        print(
            f"flag rate: {s['flag_rate_recorded']:.1%} as recorded {s['flags_recorded'] or ''}; "
            f"{s['flag_rate_current_thresholds']:.1%} under the current thresholds {s['flags_current'] or ''}"
        )
        for stem, flags in s["flagged_current"]:
            print(f"  flagged now: {stem}: {flags}")
        q = s["brain_cm3"]
        print("brain volume cm3: " + ", ".join(f"{k} {v:.0f}" for k, v in q.items()))
        print(f"seconds per scan (median, as recorded): {s['seconds_per_scan_median']}")
    common = sorted(set(summaries[0]["volumes"]) & set(summaries[1]["volumes"]))
    dice = dice_between(*args.folders, common)
    print(f"\n## Dice between the two folders' masks: {len(dice)} scans done by both")
    if dice:
        print("Dice: " + ", ".join(f"{k} {v:.4f}" for k, v in _quantiles(list(dice.values())).items()))
        below = {t: sum(v < t for v in dice.values()) for t in (0.99, 0.98, 0.97, 0.95, 0.9)}
        print("scans below: " + ", ".join(f"{t}: {n}" for t, n in below.items()))
        print(f"worst {min(args.worst, len(dice))}:")
        for stem in sorted(dice, key=dice.get)[: args.worst]:
            va, vb = summaries[0]["volumes"][stem], summaries[1]["volumes"][stem]
            print(f"  {stem}: Dice {dice[stem]:.4f}, {va:.0f} vs {vb:.0f} cm3")
    report = {
        "folders": [{k: v for k, v in s.items() if k != "volumes"} for s in summaries],
        "volumes": {s["backend"]: s["volumes"] for s in summaries},
        "dice": dice,
    }
    if args.calibrate:
        print(f"\n## QC calibration on {args.calibrate} (DLMUSE brain masks; no network)")
        report["calibration"] = cal = calibration(args.calibrate)
        f = cal["flagged"]
        print(
            f"flagged: right masks {f['right']}/{f['scans']}, one hemisphere {f['half']}/{f['scans']}, "
            f"brain-only input {f['stripped']}/{f['scans']}"
        )
        for key, q in cal["figures"].items():
            print(f"  {key}: " + ", ".join(f"{k} {v:.4g}" for k, v in q.items()))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
