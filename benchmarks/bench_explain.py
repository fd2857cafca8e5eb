"""Grad-CAM speed: seconds per volume vs one forward+backward pass of the same model (target <= 2x).

At 2 mm/128^3 (the default grid) for the classify/regress backbones: the reference is one
forward pass and a backward pass to every weight (a training step without the optimiser);
Grad-CAM is brainmri-explain's ``attribute`` (target choice, Captum LayerGradCam, upsampling
to the input grid) and, per volume from a decoded real scan, ``explain_volume`` (pipeline,
Grad-CAM, inverse resample to the scan's native grid). On CUDA the same figures are taken
on the GPU as well.

    python benchmarks/bench_explain.py [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _common import peak_rss_mb, print_table, shared_real, write_json

ARCHES = ("resnet3d", "vt1", "sfcn")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(funcs, repeat: int) -> list[float]:
    """Median seconds of each function, timed in turns (round-robin) after one warm-up each.

    Taking turns spreads any change in the machine's load over all of them, so their
    ratios stay fair on a shared machine.
    """
    for func in funcs:
        func()
    times = [[] for _ in funcs]
    for _ in range(repeat):
        for func, bucket in zip(funcs, times):
            start = time.perf_counter()
            func()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def bench_device(device: torch.device, shape: int, arches, repeat: int) -> list[dict]:
    from brainmri.core.io import load_volume
    from brainmri.core.models import build_model
    from brainmri.core.pipeline import Pipeline, PipelineConfig
    from brainmri.core.tasks import Task
    from brainmri.explain.attribution import attribute, prepare_model
    from brainmri.explain.layers import default_layer
    from brainmri.explain.workflow import explain_volume

    volume = load_volume(shared_real() / "chris_t1.nii.gz")
    pipeline = Pipeline(PipelineConfig.preset("default", spacing=2.0 * 128 / shape, shape=shape), device)
    image = pipeline.preprocess(volume).image
    rows = []
    for arch in arches:
        torch.manual_seed(0)
        model = prepare_model(build_model(arch, 2).to(device))
        layer = default_layer(model, tuple(image.shape), Task().gradcam_layer(arch))

        def forward_backward():
            model.zero_grad(set_to_none=True)
            model(image)[:, 1].sum().backward()
            _sync(device)

        def gradcam():
            attribute(model, image, method="gradcam", layer=layer)
            _sync(device)

        def per_volume():
            explain_volume(model, pipeline, volume, method="gradcam", layer=layer)
            _sync(device)

        t_ref, t_cam, t_vol = interleaved((forward_backward, gradcam, per_volume), repeat)
        model.zero_grad(set_to_none=True)
        rows.append({"device": device.type, "arch": arch, "layer": layer, "grid": f"{shape}^3",
                     "fwd_bwd_s": t_ref, "gradcam_s": t_cam, "ratio": t_cam / t_ref,
                     "per_volume_s": t_vol, "per_volume_ratio": t_vol / t_ref})
        print_table(f"{device.type} {arch}", rows[-1:], list(rows[-1]))
    return rows


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--quick", action="store_true", help="resnet3d only, 64^3 on CPU, one repeat")
    parser.add_argument("--out", default=None, help="write results as JSON here")
    args = parser.parse_args()
    arches = ("resnet3d",) if args.quick else ARCHES
    repeat = 1 if args.quick else 5
    cpu_shape = 64 if args.quick else 128
    rows = bench_device(torch.device("cpu"), cpu_shape, arches, repeat)
    if torch.cuda.is_available():
        rows += bench_device(torch.device("cuda"), 128, arches, repeat if args.quick else 5)
    columns = ["device", "arch", "layer", "grid", "fwd_bwd_s", "gradcam_s", "ratio", "per_volume_s",
               "per_volume_ratio"]
    print_table("Grad-CAM vs one forward+backward pass (target ratio <= 2)", rows, columns)
    write_json(args.out, {"results": rows, "threads": torch.get_num_threads(), "peak_rss_mb": peak_rss_mb(),
                          "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None})


if __name__ == "__main__":
    main()
