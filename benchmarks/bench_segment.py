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
4. On CUDA: whole-scan inference seconds (default vt1-unet, TTA off and flip-x) and training
   patches/s (bf16 autocast) for the defaults.

    python benchmarks/bench_segment.py [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import peak_rss_mb, print_table, shared_real, write_json

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
    def predictor(x):
        return torch.softmax(model(x), dim=1)

    with torch.inference_mode():
        if method == "ours":
            from brainmri.segment.sliding_window import sliding_window_inference

            return sliding_window_inference(image, predictor, roi, overlap, sw_batch_size=sw_batch_size)
        from monai.inferers import sliding_window_inference as monai_swi

        return monai_swi(image, roi, sw_batch_size, predictor, overlap=overlap, mode="gaussian")


def worker(args) -> None:
    """One method in a fresh process: peak memory above the loaded model and input."""
    image, model = head_input(args.spacing), network(args.encoder)
    if args.method == "monai":
        import monai.inferers  # noqa: F401  (imported before the baseline, like torch)
    base = peak_rss_mb()
    start = time.perf_counter()
    infer(args.method, image, model, args.roi, args.overlap, args.sw_batch_size)
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb(), "base_mb": base}))


def compare_inference(args) -> dict:
    image, model = head_input(args.spacing), network(args.encoder)
    print(f"input {tuple(image.shape[2:])} at {args.spacing} mm, roi {args.roi}, overlap {args.overlap}", flush=True)
    outs, times = {}, {"ours": [], "monai": []}
    for rep in range(args.repeat + 1):  # the first round warms up
        for method in ("ours", "monai") if rep % 2 == 0 else ("monai", "ours"):
            start = time.perf_counter()
            outs[method] = infer(method, image, model, args.roi, args.overlap, args.sw_batch_size)
            if rep:
                times[method].append(time.perf_counter() - start)
    diff = float((outs["ours"] - outs["monai"]).abs().max())
    memory = {}
    for method in ("ours", "monai"):
        cmd = [sys.executable, __file__, "--worker", method, "--roi", str(args.roi), "--overlap", str(args.overlap),
               "--encoder", args.encoder, "--spacing", str(args.spacing), "--sw-batch-size", str(args.sw_batch_size)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parent)
        line = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else "{}"
        memory[method] = json.loads(line)
    ours, theirs = float(np.median(times["ours"])), float(np.median(times["monai"]))
    row = {
        "input": "x".join(map(str, image.shape[2:])),
        "roi": args.roi,
        "overlap": args.overlap,
        "ours_s": ours,
        "monai_s": theirs,
        "time_ratio": ours / theirs,
        "ours_extra_mb": memory["ours"].get("peak_mb", np.nan) - memory["ours"].get("base_mb", np.nan),
        "monai_extra_mb": memory["monai"].get("peak_mb", np.nan) - memory["monai"].get("base_mb", np.nan),
        "max_abs_diff": diff,
    }
    row["memory_ratio"] = row["ours_extra_mb"] / row["monai_extra_mb"]
    print_table("Whole-volume sliding window, CPU (ratio = ours / MONAI)", [row], list(row))
    return row


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
    from brainmri.core.loading import SubjectDataset
    from brainmri.core.training.inference import autocast_context
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
        rows.append({"device": device, "config": name, "patch": patch, "patches_per_step": 2 * per_scan,
                     "sampler_patches_per_s": sampler_rate, "train_patches_per_s": n / (time.perf_counter() - start)})
    print_table(f"Training patches/s on {device} (synthetic HarP phantoms, augmentation on)", rows, list(rows[0]))
    return rows


def gpu_inference(root: Path, repeat: int) -> list[dict]:
    from brainmri.core import load_volume
    from brainmri.core.pipeline import PipelineConfig
    from brainmri.segment.inference import Segmenter
    from brainmri.segment.models import build_segmentation_model
    from brainmri.segment.task import TASK

    vol = load_volume(shared_real() / "chris_t1.nii.gz")
    task_config = TASK.prepare({"dataset": "adni"}, [])
    torch.manual_seed(0)
    model = build_segmentation_model("vt1-unet", 3).cuda().eval()
    rows = []
    for tta in ("none", "flip-x"):
        seg = Segmenter(model, PipelineConfig(spacing=1.0, shape=task_config["patch_size"]), task_config, "cuda",
                        tta=tta)
        seg.segment(vol)
        torch.cuda.synchronize()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            seg.segment(vol)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        rows.append({"model": "vt1-unet (base 32, 3 levels)", "roi": seg.roi[0], "tta": tta,
                     "seconds_per_scan": float(np.median(times)),
                     "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20})
    print_table("Whole-scan segmentation on CUDA (1 mm chris_t1, load to native labels)", rows, list(rows[0]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, overlap 0.25, fewer training steps")
    parser.add_argument("--out", default=None, help="write results as JSON here")
    parser.add_argument("--worker", choices=["ours", "monai"], help=argparse.SUPPRESS)
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
