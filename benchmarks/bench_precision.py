"""Training-step time by precision and layer (issue 13): fp32 against bf16 autocast, and vt1
against its former in-place ReLU, on the device.

The networks and shapes of the accuracy benchmark's CPU configuration: vt1 at 48x64x64, batch 2
(the sex and age grid); the padded vt1-unet of width 16 on 40x56x40 patches, batch 2 (MSD),
channels-last on the CPU as segment trains. The arms alternate step by step and each ratio is the
median of paired step times, so a shared machine's drift (up to ~1.8x within minutes on a 2-core
VM) cancels out of it.

- precision: ``--amp off`` (fp32) against ``--amp bf16``. On a CPU without native bf16
  (AVX512-BF16 or AMX) autocast emulates it, many times slower: that row says so.
- relu: vt1 with the in-place ReLU it had until 2026-12-02 (InstanceNorm's output is a view, so
  autograd copied every gradient back through it) against today's vt1.

    python benchmarks/bench_precision.py [--quick] [--device auto] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from _common import print_table, write_json


def _step(model, shape, classes: int, device, amp: str, channels_last: bool):
    """One training step of ``model`` (batch 2 of random input), as a function to time."""
    from brainmri.core.devices import autocast_context

    torch.manual_seed(0)
    model = model.to(device)
    x = torch.randn(2, 1, *shape, device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    y = torch.randint(0, classes, (2, *shape), device=device) if classes > 2 else torch.tensor([0, 1], device=device)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)

    def step() -> float:
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with autocast_context(device, amp):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    return step


def paired(a, b, steps: int) -> dict:
    """Median step seconds of ``a`` and ``b`` stepped alternately, and the median paired ratio a/b."""
    for _ in range(2):
        a(), b()
    ta, tb = [], []
    for _ in range(steps):
        ta.append(a())
        tb.append(b())
    ratios = [x / y for x, y in zip(ta, tb)]
    return {"a_s": statistics.median(ta), "b_s": statistics.median(tb), "ratio": statistics.median(ratios)}


def _row(comparison: str, r: dict, note: str) -> dict:
    return {"comparison": comparison, "first_s": r["a_s"], "second_s": r["b_s"], "ratio": r["ratio"], "note": note}


def main() -> int:
    from brainmri.core.devices import cpu_has_native_bf16, resolve_device
    from brainmri.core.models import VT1Net
    from brainmri.segment.models import VT1UNet

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 paired steps an arm (default 30).")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    device = resolve_device(args.device)
    steps = 10 if args.quick else 30
    native = device.type == "cuda" or cpu_has_native_bf16()
    cl = device.type == "cpu"

    def vt1(inplace: bool = False):
        model = VT1Net(2)
        if inplace:
            model.relu = torch.nn.ReLU(inplace=True)
        return model

    def unet():
        return VT1UNet(3, base_filters=16, levels=3, norm="batch", padding="same")

    rows = []
    nets = (("vt1 48x64x64", vt1, (48, 64, 64), 2, False), ("vt1-unet w16 40x56x40", unet, (40, 56, 40), 3, cl))
    for name, build, shape, classes, channels_last in nets:
        fp32 = _step(build(), shape, classes, device, "off", channels_last)
        bf16 = _step(build(), shape, classes, device, "bf16", channels_last)
        r = paired(fp32, bf16, steps if native else 2)  # emulated bf16 takes seconds a step
        note = "native bf16" if native else "bf16 EMULATED (no AVX512-BF16/AMX)"
        rows.append(_row(f"{name}: fp32 / bf16 autocast", r, note))
    old = _step(vt1(inplace=True), (48, 64, 64), 2, device, "off", False)
    new = _step(vt1(), (48, 64, 64), 2, device, "off", False)
    r = paired(old, new, steps)
    rows.append(_row("vt1 48x64x64: in-place ReLU (until 2026-12-02) / today", r, "both fp32"))
    threads = torch.get_num_threads()
    title = f"Training step, batch 2, {device.type}, {threads} threads (ratio > 1: the second is faster)"
    print_table(title, rows, ["comparison", "first_s", "second_s", "ratio", "note"])
    write_json(
        args.out,
        {
            "device": device.type,
            "threads": threads,
            "native_bf16": native,
            "steps": steps,
            "rows": rows,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
