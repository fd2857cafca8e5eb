"""Pipeline speed: brainmri's fused resample vs TorchIO's Compose vs scipy cubic (VT1's method).

Per-volume seconds on the real scans, from decoded arrays and from files, at 2 mm/128^3 and
1 mm/256^3 with augmentation; ratios in one run; correlation to the scipy output; first
(decode) vs second (cached) epoch; peak RSS; on CUDA, batched volumes/s at 128^3.

    python benchmarks/bench_pipeline.py [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import peak_rss_mb, print_table, shared_real, timeit, write_json

SCANS = ("chris_t1.nii.gz", "t1_lia.nii.gz", "chris_pd.nii.gz")


def scipy_cubic(vol, spacing, shape, rng):
    """The reference project's data path: one scipy order-3 affine resample, z-score over > 0."""
    import scipy.ndimage as ndi

    from brainmri.core.geometry import ras_grid_affine, similarity_about, volume_centre_world

    centre = volume_centre_world(vol, "half_shape")
    target = ras_grid_affine(spacing, shape, centre, "half_shape")
    aug = similarity_about(centre, rng.uniform(-5, 5, 3), 1.0, rng.uniform(-7, 7, 3))
    m = np.linalg.inv(vol.affine) @ aug @ target
    out = ndi.affine_transform(vol.data.astype(np.float32), m[:3, :3], m[:3, 3], output_shape=shape, order=3,
                               mode="constant")
    fg = out > 0
    return (out - out[fg].mean()) / out[fg].std()


def torchio_compose(spacing, shape):
    import torchio as tio

    return tio.Compose([
        tio.ToCanonical(),
        tio.Resample(spacing),
        tio.CropOrPad(shape),
        tio.RandomAffine(scales=0.05, degrees=10, translation=5),
        tio.ZNormalization(),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 mm only, fewer repeats")
    parser.add_argument("--out", default=None, help="write results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    import torchio as tio

    from brainmri.core import load_volume
    from brainmri.core.cache import ScanCache
    from brainmri.core.pipeline import Pipeline, PipelineConfig, Sample
    from brainmri.core.pipeline.config import AugmentConfig

    real = shared_real()
    paths = [real / s for s in SCANS]
    volumes = [load_volume(p) for p in paths]
    settings = [(2.0, 128)] if args.quick else [(2.0, 128), (1.0, 256)]
    repeat = 2 if args.quick else 3
    rows, results = [], {"settings": []}
    for spacing, size in settings:
        shape = (size,) * 3
        # "equivalent": exactly the peers' work (reorient, resample, crop/pad, random rotation/scale/
        # translation, z-score); "full": our default preset with clipping, bias, gamma and noise too.
        full = Pipeline(PipelineConfig.preset("default", spacing=spacing, shape=shape))
        pipe = Pipeline(PipelineConfig.preset("default", spacing=spacing, shape=shape, clip_percentiles=None,
                                              augment=AugmentConfig(rotation_deg=10, scale=0.05, translation_mm=5)))
        tio_tf = torchio_compose(spacing, shape)
        rng = np.random.default_rng(0)
        t = dict.fromkeys(("ours", "ours_full", "ours_file", "tio", "tio_f32", "tio_file", "scipy"), 0.0)
        corr = []
        few = 1 if size == 256 else repeat
        for path, vol in zip(paths, volumes):
            sample = Sample(vol.data, vol.affine)
            t["ours"] += timeit(lambda s=sample: pipe([s], augment=True, rng=rng), repeat)
            t["ours_full"] += timeit(lambda s=sample: full([s], augment=True, rng=rng), repeat)
            t["ours_file"] += timeit(lambda p=path: pipe([Sample(*_decode(p))], augment=True, rng=rng), 1)
            # TorchIO on the array as decoded (its resampler then works in the scan's integer type,
            # as it does from a file) and on a float32 copy (same output precision as ours).
            for key, dtype in (("tio", vol.data.dtype), ("tio_f32", np.float32)):
                tensor = torch.from_numpy(np.asarray(vol.data[None], dtype=dtype))
                subject = tio.Subject(t1=tio.ScalarImage(tensor=tensor, affine=vol.affine))
                t[key] += timeit(lambda s=subject: tio_tf(s), few)
            t["tio_file"] += timeit(lambda p=path: tio_tf(tio.Subject(t1=tio.ScalarImage(p))), 1)
            t["scipy"] += timeit(lambda v=vol: scipy_cubic(v, spacing, shape, rng), few)
            # Agreement with the reference method (no augmentation on either side).
            ref_cfg = PipelineConfig.preset("vt1", spacing=spacing, shape=shape)
            import scipy.ndimage as ndi

            from brainmri.core.geometry import ras_grid_affine, volume_centre_world

            target = ras_grid_affine(spacing, shape, volume_centre_world(vol, "half_shape"), "half_shape")
            m = np.linalg.inv(vol.affine) @ target
            ref = ndi.affine_transform(vol.data.astype(np.float32), m[:3, :3], m[:3, 3], output_shape=shape, order=3)
            fg = ref > 0
            ref = (ref - ref[fg].mean()) / ref[fg].std()
            ours = Pipeline(PipelineConfig.preset("default", spacing=spacing, shape=shape,
                                                  centre_convention=ref_cfg.centre_convention,
                                                  zscore_region="nonzero", clip_percentiles=None)).preprocess(vol)
            corr.append(float(np.corrcoef(ours.image[0, 0].numpy().ravel(), ref.ravel())[0, 1]))
        n = len(paths)
        row = {"grid": f"{spacing:g} mm / {size}^3"}
        row.update({f"{k}_s": v / n for k, v in t.items()})
        row.update({
            "x_vs_torchio": t["tio"] / t["ours"],
            "x_vs_torchio_f32": t["tio_f32"] / t["ours"],
            "x_file_vs_torchio_file": t["tio_file"] / t["ours_file"],
            "x_vs_scipy": t["scipy"] / t["ours"],
            "corr_to_scipy_min": min(corr),
        })
        rows.append(row)
        results["settings"].append(row)
    keys = list(rows[0].keys())
    print_table("Per-volume seconds with augmentation, CPU", [{k: r[k] for k in keys[:8]} for r in rows], keys[:8])
    print_table("Ratios (x = times faster than the peer; ours = the equivalent work)",
                [{k: r[k] for k in keys[:1] + keys[8:]} for r in rows], keys[:1] + keys[8:])

    # Epoch over the three scans: first pass decodes, second is served by the cache.
    cache = ScanCache()
    pipe = Pipeline(PipelineConfig.preset("default"))
    epochs = []
    for _ in range(2):
        start = time.perf_counter()
        for p in paths:
            v = cache.load(p)
            pipe([Sample(v.data, v.affine)], augment=True)
        epochs.append(time.perf_counter() - start)
    results["epoch_first_s"], results["epoch_cached_s"] = epochs
    print(f"\nepoch of 3 scans at 2 mm/128^3: first (decode) {epochs[0]:.2f} s, second (cached) {epochs[1]:.2f} s"
          f" -> {epochs[0] / epochs[1]:.1f}x")
    results["peak_rss_mb"] = peak_rss_mb()
    print(f"peak RSS {results['peak_rss_mb']:.0f} MiB")

    if torch.cuda.is_available():
        gpu = Pipeline(PipelineConfig.preset("default"), "cuda")
        samples = [Sample(v.data, v.affine) for v in volumes] * 11  # batch of 33
        gpu(samples, augment=True)
        torch.cuda.synchronize()
        start = time.perf_counter()
        reps = 5
        for _ in range(reps):
            gpu(samples, augment=True)
        torch.cuda.synchronize()
        rate = reps * len(samples) / (time.perf_counter() - start)
        results["cuda_volumes_per_s"] = rate
        print(f"CUDA batched throughput at 2 mm/128^3: {rate:.0f} volumes/s (batch {len(samples)})")
    else:
        print("CUDA: not available on this machine (GPU throughput not measured)")
    write_json(args.out, results)


def _decode(path):
    from brainmri.core import load_volume

    v = load_volume(path)
    return v.data, v.affine


if __name__ == "__main__":
    main()
