"""Segmentation speed: whole-volume sliding-window inference vs MONAI, and training patches/s.

1. CPU, a 1 mm head (the real chris_t1 resampled once onto a 1 mm RAS grid covering it):
   brainmri's ``sliding_window_inference`` vs MONAI's with the same network (smp-3d U-Net,
   resnet18 encoder, padded), ROI, overlap, Gaussian mode and window batch. Seconds (median,
   alternating order), ratio ours / MONAI, peak memory of each in a fresh process, and the max
   abs difference of the blended probabilities (target < 1e-4).
2. HD95 of brainmri vs MONAI's ``HausdorffDistanceMetric(percentile=95)`` on random masks with
   anisotropic voxels.
3. Training patches/s on synthetic HarP phantoms: the patch sampler alone and full steps
   (sampling + forward + backward + AdamW) for the default vt1-unet and the small test network.
4. CPU, a real 2 mm IXI-HH head: whole-head inference of the reference network (vt1-unet, width
   16) with windows fitted to the scan against the former 128^3 windows (seconds, peak memory).
5. On CUDA: whole-scan inference seconds (default vt1-unet, TTA off and flip-x) and training
   patches/s (bf16 autocast) for the defaults.

    python benchmarks/bench_segment.py [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import print_table, run_json_worker, shared_real, write_json

warnings.filterwarnings("ignore")


def head_input(spacing: float = 1.0) -> torch.Tensor:
    """The real head normalised on a world-aligned grid covering it, ``(1, 1, X, Y, Z)``."""
    from brainmri.core import load_volume
    from brainmri.core.pipeline import PipelineConfig
    from brainmri.segment.grids import IntensityStats, whole_volume

    vol = load_volume(shared_real() / "chris_t1.nii.gz")
    cfg = PipelineConfig(spacing=spacing, shape=(64, 64, 64))
    return whole_volume(vol.data, vol.affine, cfg, IntensityStats.of(vol.data, cfg)).input


def network(encoder: str = "resnet18"):
    from brainmri.segment.models import SMPUNet

    torch.manual_seed(0)
    return SMPUNet(out_channels=3, encoder=encoder).eval()


def infer(method: str, image, model, roi, overlap, sw_batch_size):
    """``ours``: brainmri's blending with the same predictor as MONAI; ``ours-cl``: brainmri's CPU
    predictor (the same weights run channels-last, as :class:`~brainmri.segment.Segmenter` does)."""
    channels_last = method == "ours-cl"
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)

    def predictor(x):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return torch.softmax(model(x), dim=1).contiguous()

    try:
        with torch.inference_mode():
            if method.startswith("ours"):
                from brainmri.segment.sliding_window import sliding_window_inference

                return sliding_window_inference(image, predictor, roi, overlap, sw_batch_size=sw_batch_size)
            from monai.inferers import sliding_window_inference as monai_swi

            return monai_swi(image, roi, sw_batch_size, predictor, overlap=overlap, mode="gaussian")
    finally:
        model.to(memory_format=torch.contiguous_format)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_while(func) -> dict:
    """Run ``func`` in this (fresh) process: its seconds, and the most resident memory while it
    runs (sampled every 2 ms) beside the memory before it (``base_mb``)."""
    import gc
    import threading

    gc.collect()
    base, peak, done = _rss_mb(), [0.0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    done.set()
    thread.join()
    return {"seconds": seconds, "peak_mb": max(peak[0], _rss_mb()), "base_mb": base}


def worker(args) -> None:
    """One method in a fresh process: the most resident memory it adds over the loaded model and
    input."""
    if args.head_window:
        seg, vol = head_segmenter(args.head_window)
        print(json.dumps(_peak_while(lambda: seg.segment(vol))))
        return
    image, model = head_input(args.spacing), network(args.encoder)
    if args.worker == "monai":
        import monai.inferers  # noqa: F401  (imported before the baseline, like torch)
    print(json.dumps(_peak_while(lambda: infer(args.worker, image, model, args.roi, args.overlap, args.sw_batch_size))))


#: Whole-head windows compared by :func:`head_windows`: fitted to the scan, and the former default.
HEAD_WINDOWS = {"fitted": None, "128": 128}


def head_segmenter(window: str):
    """The reference network (vt1-unet, width 16, random weights: timing does not depend on them)
    and a real 2 mm IXI-HH head, with the windows ``window`` names (:data:`HEAD_WINDOWS`)."""
    from brainmri.core import load_volume
    from brainmri.core.pipeline import PipelineConfig
    from brainmri.segment.inference import Segmenter
    from brainmri.segment.models import build_segmentation_model

    scan = sorted((shared_real().parent / "ixi-hh").glob("IXI*-T1.nii.gz"))[0]
    torch.manual_seed(0)
    model = build_segmentation_model("vt1-unet", 3, base_filters=16).eval()
    task = {"patch_size": [48] * 3, "classes": {"1": "left", "2": "right"}, "lr_pairs": [[1, 2]], "tta": "none"}
    seg = Segmenter(model, PipelineConfig(spacing=2.0, shape=(48,) * 3), task, "cpu", roi=HEAD_WINDOWS[window])
    return seg, load_volume(scan)


def head_windows(repeat: int) -> list[dict]:
    """CPU: whole-head inference of the reference network with windows fitted to the scan against
    the former 128^3 windows: seconds (median, alternating order) and peak memory (fresh processes)."""
    from brainmri.core.pipeline import Sample
    from brainmri.segment.sliding_window import window_starts

    segs = {w: head_segmenter(w) for w in HEAD_WINDOWS}
    times = {w: [] for w in HEAD_WINDOWS}
    for rep in range(repeat + 1):  # the first round warms up; the order alternates
        for w in list(HEAD_WINDOWS)[:: 1 if rep % 2 == 0 else -1]:
            seg, vol = segs[w]
            start = time.perf_counter()
            seg.segment(vol)
            if rep:
                times[w].append(time.perf_counter() - start)
    rows = []
    for w, (seg, vol) in segs.items():
        grid = seg.prepare(Sample(vol.data, vol.affine))
        window = seg.window(grid)
        tiles = [seg.model.output_size(r) for r in window]
        count = int(np.prod([len(window_starts(n, t, seg.overlap)) for n, t in zip(grid.batch.image.shape[2:], tiles)]))
        cmd = [sys.executable, __file__, "--worker", "ours", "--head-window", w]
        mem = run_json_worker(cmd, f"memory of {w}", 600, cwd=Path(__file__).parent) or {}
        rows.append(
            {
                "windows": w,
                "window": "x".join(map(str, window)),
                "count": count,
                "seconds_per_scan": float(np.median(times[w])),
                "extra_mb": mem.get("peak_mb", float("nan")) - mem.get("base_mb", 0.0),
            }
        )
    for row in rows:
        row["time_ratio"] = row["seconds_per_scan"] / rows[-1]["seconds_per_scan"]
        row["memory_ratio"] = row["extra_mb"] / rows[-1]["extra_mb"]
    print_table("Whole 2 mm head, reference network on CPU (ratio = this / 128^3 windows)", rows, list(rows[0]))
    return rows


METHODS = ("ours", "ours-cl", "monai")


def _memory(method: str, args) -> float:
    """Peak RSS (MiB) a method adds over the loaded model and input, in a fresh process."""
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        method,
        "--roi",
        str(args.roi),
        "--overlap",
        str(args.overlap),
    ]
    cmd += [
        "--encoder",
        args.encoder,
        "--spacing",
        str(args.spacing),
        "--sw-batch-size",
        str(args.sw_batch_size),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parent)
    if proc.returncode != 0:
        print(f"memory worker {method} failed: {proc.stderr.strip().splitlines()[-1:]}")
        return float("nan")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["peak_mb"] - result["base_mb"]


def compare_inference(args) -> list[dict]:
    image, model = head_input(args.spacing), network(args.encoder)
    shape = "x".join(map(str, image.shape[2:]))
    print(f"input {shape} at {args.spacing} mm, roi {args.roi}, overlap {args.overlap}", flush=True)
    outs, times = {}, {m: [] for m in METHODS}
    for rep in range(args.repeat + 1):  # the first round warms up; the order alternates
        for method in METHODS if rep % 2 == 0 else METHODS[::-1]:
            start = time.perf_counter()
            outs[method] = infer(method, image, model, args.roi, args.overlap, args.sw_batch_size)
            if rep:
                times[method].append(time.perf_counter() - start)
    memory = {m: _memory(m, args) for m in METHODS}
    monai_s = float(np.median(times["monai"]))
    rows = []
    for method, what in (("ours", "same predictor"), ("ours-cl", "engine predictor (channels-last)")):
        ours_s = float(np.median(times[method]))
        rows.append(
            {
                "input": shape,
                "ours": what,
                "roi": args.roi,
                "overlap": args.overlap,
                "ours_s": ours_s,
                "monai_s": monai_s,
                "time_ratio": ours_s / monai_s,
                "ours_extra_mb": memory[method],
                "monai_extra_mb": memory["monai"],
                "memory_ratio": memory[method] / memory["monai"],
                "max_abs_diff": float((outs[method] - outs["monai"]).abs().max()),
            }
        )
    print_table("Whole-volume sliding window, CPU (ratio = ours / MONAI)", rows, list(rows[0]))
    return rows


def compare_hd95(n: int) -> dict:
    from monai.metrics import HausdorffDistanceMetric
    from scipy.ndimage import gaussian_filter

    from brainmri.segment.metrics import hd95

    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(n):
        masks = [gaussian_filter(rng.normal(size=(40, 36, 30)), 2.5) > 0.1 for _ in range(2)]
        spacing = tuple(rng.uniform(0.5, 2.5, 3))
        onehot = [torch.from_numpy(np.stack([~m, m])[None].astype(np.float32)) for m in masks]
        ref = float(HausdorffDistanceMetric(percentile=95)(onehot[0], onehot[1], spacing=spacing)[0, 0])
        diffs.append(abs(hd95(masks[0], masks[1], spacing) - ref))
    result = {"cases": n, "max_abs_diff_mm": float(max(diffs))}
    print(f"\nHD95 vs MONAI on {n} random anisotropic cases: max |diff| {result['max_abs_diff_mm']:.2e} mm")
    return result


def training_speed(device: str, steps: int, configs: dict, root: Path) -> list[dict]:
    from brainmri.core.datasets import load_dataset
    from brainmri.core.devices import autocast_context
    from brainmri.core.loading import SubjectDataset
    from brainmri.segment.losses import segmentation_loss
    from brainmri.segment.models import build_segmentation_model
    from brainmri.segment.sampling import PatchSampler
    from brainmri.segment.training import _pipeline_config

    dev = torch.device(device)
    subjects = load_dataset("adni", root, split="train").subjects
    data = SubjectDataset(subjects, with_labels=True)
    samples = [data.sample(i) for i in range(len(data))]
    rows = []
    for name, (spacing, patch, options, per_scan) in configs.items():
        torch.manual_seed(0)
        model = build_segmentation_model("vt1-unet", 3, **options).to(dev)
        if dev.type == "cpu":
            model = model.to(memory_format=torch.channels_last_3d)
        patch = model.valid_size(patch)
        sampler = PatchSampler(_pipeline_config(spacing, patch, "adni", None), per_scan, 0.8, device=dev)
        opt = torch.optim.AdamW(model.parameters(), 1e-3)
        rng = np.random.default_rng(0)

        def step(train: bool = True):
            batch = sampler([samples[i] for i in rng.choice(len(samples), 2, replace=False)], augment=True, rng=rng)
            if not train:
                return batch
            with autocast_context(dev):
                out = model(batch.image)
            loss = segmentation_loss(out.float(), batch.labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return batch

        def sync():
            if dev.type == "cuda":
                torch.cuda.synchronize()

        step(), step(False)  # warm up
        sync()
        start = time.perf_counter()
        n = sum(len(step(False)) for _ in range(max(steps, 3)))
        sync()
        sampler_rate = n / (time.perf_counter() - start)
        start = time.perf_counter()
        n = sum(len(step()) for _ in range(steps))
        sync()
        rows.append(
            {
                "device": device,
                "config": name,
                "patch": patch,
                "patches_per_step": 2 * per_scan,
                "sampler_patches_per_s": sampler_rate,
                "train_patches_per_s": n / (time.perf_counter() - start),
            }
        )
    print_table(f"Training patches/s on {device} (synthetic HarP phantoms, augmentation on)", rows, list(rows[0]))
    return rows


def gpu_inference(root: Path, repeat: int) -> list[dict]:
    from brainmri.core import load_volume
    from brainmri.core.pipeline import PipelineConfig, Sample
    from brainmri.segment.inference import Segmenter
    from brainmri.segment.models import build_segmentation_model
    from brainmri.segment.task import TASK

    vol = load_volume(shared_real() / "chris_t1.nii.gz")
    task_config = TASK.prepare({"dataset": "adni"}, [])
    torch.manual_seed(0)
    model = build_segmentation_model("vt1-unet", 3).cuda().eval()
    rows = []
    for tta in ("none", "flip-x"):
        seg = Segmenter(
            model, PipelineConfig(spacing=1.0, shape=task_config["patch_size"]), task_config, "cuda", tta=tta
        )
        seg.segment(vol)
        torch.cuda.synchronize()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            seg.segment(vol)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        rows.append(
            {
                "model": "vt1-unet (base 32, 3 levels)",
                "window": "x".join(str(n) for n in seg.window(seg.prepare(Sample(vol.data, vol.affine)))),
                "tta": tta,
                "seconds_per_scan": float(np.median(times)),
                "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20,
            }
        )
    print_table("Whole-scan segmentation on CUDA (1 mm chris_t1, load to native labels)", rows, list(rows[0]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, overlap 0.25, fewer training steps")
    parser.add_argument("--out", default=None, help="write results as JSON here")
    parser.add_argument("--worker", choices=list(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--head-window", choices=list(HEAD_WINDOWS), help=argparse.SUPPRESS)
    parser.add_argument("--roi", type=int, default=96)
    parser.add_argument("--overlap", type=float, default=None)
    parser.add_argument("--encoder", default="resnet18")
    parser.add_argument("--spacing", type=float, default=1.0)
    parser.add_argument("--sw-batch-size", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    if args.overlap is None:
        args.overlap = 0.25 if args.quick else 0.5
    if args.worker:
        worker(args)
        return
    args.repeat = args.repeat or (1 if args.quick else 3)
    results = {"threads": torch.get_num_threads(), "inference_cpu": compare_inference(args)}
    results["head_windows_cpu"] = head_windows(args.repeat)
    results["hd95_vs_monai"] = compare_hd95(5 if args.quick else 20)

    from brainmri.core.testing import synthetic_dataset

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "harp"
        synthetic_dataset(root, "adni", subjects=6, seed=0)
        configs = {
            "default (1 mm, base 32)": (1.0, 96, {}, 2),
            "test (3 mm, base 8)": (3.0, 52, {"base_filters": 8, "levels": 3}, 4),
        }
        results["training_cpu"] = training_speed("cpu", 2 if args.quick else 5, configs, root)
        if torch.cuda.is_available():
            results["inference_cuda"] = gpu_inference(root, 3 if args.quick else 5)
            results["training_cuda"] = training_speed("cuda", 10 if args.quick else 30, configs, root)
        else:
            print("\nno CUDA device: GPU figures skipped")
    write_json(args.out, results)


if __name__ == "__main__":
    main()
