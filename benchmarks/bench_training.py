"""Training throughput: brainmri's engine vs the reference project's plain loop (issue 5).

Both train the same VT1 network on the same real scans at 2 mm/128^3 with rotation and
translation augmentation, for two epochs; the second (warm) epoch is measured.

- brainmri: the Trainer (decode-once cache, fused one-resample trilinear pipeline on the batch's
  device, batch 4, AdamW), as ``brainmri-classify train`` runs it.
- reference: a torch Dataset that loads the NIfTI file and resamples it with scipy cubic
  (``affine_transform`` order 3) in DataLoader workers, z-score over voxels > 0, batch 1.

Reported: samples/s and their ratio (target >= 2x on CPU), loader stall per step (time the
step waited for data), the fraction of step time spent computing (on CUDA: whether the
loader keeps the GPU busy; target >= 90% with the cache warm) and peak RSS. Each side runs
in its own process so peak memory is its own.

    python benchmarks/bench_training.py [--quick] [--device auto] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, print_table, shared_real, write_json

SCANS = ("chris_t1.nii.gz", "t1_lia.nii.gz", "chris_pd.nii.gz")


def _table(folder: Path, n: int) -> Path:
    real = shared_real()
    rows = ["subject_id,image,sex,age"]
    for i in range(n):
        rows.append(f"s{i:03d},{real / SCANS[i % len(SCANS)]},{i % 2},{30 + i}")
    path = folder / "subjects.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def run_brainmri(args) -> dict:
    from brainmri.core.tasks import get_task
    from brainmri.core.training import TrainConfig, train

    with tempfile.TemporaryDirectory() as tmp:
        table = _table(Path(tmp), args.n)
        config = TrainConfig(epochs=2, batch_size=args.batch, lr=1e-4, augment=True, patience=0, scheduler="none",
                             num_workers=args.workers, seed=0)
        run = train(get_task("sex"), Path(tmp) / "run", dataset="table", root=table, arch="vt1", preset="default",
                    spacing=2.0, shape=args.shape, train_config=config, val=0.0, test=0.0, device=args.device,
                    progress=False, evaluate_after=False)
        import csv

        with open(run.log_path) as fh:
            rows = list(csv.DictReader(fh))
    warm, cold = rows[-1], rows[0]
    steps = -(-args.n // args.batch)
    seconds = float(warm["seconds"])
    stall = float(warm["loader_wait_s"])
    return {"samples_per_s": float(warm["samples_per_s"]), "cold_samples_per_s": float(cold["samples_per_s"]),
            "stall_s_per_step": stall, "busy_fraction": 1.0 - stall * steps / seconds, "batch": args.batch,
            "peak_rss_mb": peak_rss_mb(), "peak_gpu_mb": float(warm["peak_mem_mb"]) if "cuda" in args.device else None}


class ReferenceDataset:
    """The reference project's data path: load + scipy cubic resample + z-score in the worker."""

    def __init__(self, files, shape, seed=0):
        self.files, self.shape, self.seed = list(files), (shape,) * 3, seed

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        import scipy.ndimage as ndi
        import torch

        from brainmri.core.geometry import ras_grid_affine, similarity_about, volume_centre_world
        from brainmri.core.io import load_volume

        rng = np.random.default_rng([self.seed, i, int(time.time() * 1e6) % 2**31])
        vol = load_volume(self.files[i])
        centre = volume_centre_world(vol, "half_shape")
        target = ras_grid_affine(2.0, self.shape, centre, "half_shape")
        aug = similarity_about(centre, rng.uniform(-5, 5, 3), 1.0, rng.uniform(-7, 7, 3))
        m = np.linalg.inv(vol.affine) @ aug @ target
        out = ndi.affine_transform(vol.data.astype(np.float32), m[:3, :3], m[:3, 3], output_shape=self.shape,
                                   order=3, mode="constant")
        fg = out > 0
        out = (out - out[fg].mean()) / out[fg].std()
        return torch.from_numpy(out[None].astype(np.float32)), i % 2


def run_reference(args) -> dict:
    import torch
    from torch.utils.data import DataLoader

    from brainmri.core.devices import resolve_device
    from brainmri.core.models import VT1Net

    device = resolve_device(args.device)
    real = shared_real()
    files = [real / SCANS[i % len(SCANS)] for i in range(args.n)]
    loader = DataLoader(ReferenceDataset(files, args.shape), batch_size=1, shuffle=True, num_workers=args.ref_workers,
                        persistent_workers=args.ref_workers > 0)
    torch.manual_seed(0)
    model = VT1Net(2).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    result = {}
    for epoch in (1, 2):
        model.train()
        wait = 0.0
        n = 0
        start = mark = time.perf_counter()
        for x, y in loader:
            wait += time.perf_counter() - mark
            x, y = x.to(device), y.to(device)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n += len(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            mark = time.perf_counter()
        seconds = time.perf_counter() - start
        result = {"samples_per_s": n / seconds, "stall_s_per_step": wait / max(n, 1),
                  "busy_fraction": 1.0 - wait / seconds, "batch": 1}
        if epoch == 1:
            cold = result["samples_per_s"]
    result["cold_samples_per_s"] = cold
    result["peak_rss_mb"] = peak_rss_mb()
    if device.type == "cuda":
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def _child(mode: str, args) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    cmd = [sys.executable, __file__, "--worker", mode, "--result", out, "--n", str(args.n), "--batch",
           str(args.batch), "--shape", str(args.shape), "--device", args.device, "--workers", str(args.workers),
           "--ref-workers", str(args.ref_workers)]
    subprocess.run(cmd, check=True)
    data = json.loads(Path(out).read_text())
    os.unlink(out)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 samples, 96^3 grid (a smoke run, not the figures).")
    parser.add_argument("--device", default="cpu", help="cpu (the comparison) or cuda/auto (GPU figures).")
    parser.add_argument("--out", default=None, help="Write results as JSON here.")
    parser.add_argument("--n", type=int, default=None, help="Samples per epoch.")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--shape", type=int, default=None)
    parser.add_argument("--workers", type=int, default=0, help="brainmri decoding workers.")
    parser.add_argument("--ref-workers", type=int, default=2, help="Reference DataLoader workers.")
    parser.add_argument("--worker", choices=["brainmri", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.n = args.n or (4 if args.quick else 12)
    args.shape = args.shape or (96 if args.quick else 128)
    args.batch = min(args.batch, args.n)
    if args.worker:
        result = run_brainmri(args) if args.worker == "brainmri" else run_reference(args)
        Path(args.result).write_text(json.dumps(result))
        return

    ours = _child("brainmri", args)
    ref = _child("reference", args)
    rows = [{"path": "brainmri", **ours}, {"path": "reference (scipy cubic, batch 1)", **ref}]
    print_table(f"training on {args.device}, VT1 at 2 mm/{args.shape}^3, {args.n} real scans per epoch (warm epoch)",
                rows, ["path", "batch", "samples_per_s", "cold_samples_per_s", "stall_s_per_step", "busy_fraction",
                       "peak_rss_mb"])
    ratio = ours["samples_per_s"] / ref["samples_per_s"]
    print(f"\nspeed-up (samples/s): {ratio:.2f}x (target >= 2x on CPU)")
    print(f"peak RSS ratio (brainmri / reference main process): {ours['peak_rss_mb'] / ref['peak_rss_mb']:.2f}")
    print(f"brainmri compute share of the step: {ours['busy_fraction']:.1%} (target on CUDA >= 90%)")
    write_json(args.out, {"device": args.device, "n": args.n, "shape": args.shape, "brainmri": ours,
                          "reference": ref, "speedup": ratio})


if __name__ == "__main__":
    main()
