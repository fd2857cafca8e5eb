#!/usr/bin/env bash
# Every GPU figure of the project in one call on a CUDA machine (one H100/H200: about 8 minutes).
#
#   BRAINMRI_SHARED=/path/to/shared bash benchmarks/gpu.sh [OUT]
#
# 1. the benchmarks against their peers (pipeline, HD-BET, training, segment, explain), on CUDA,
#    with the brain extraction backends (bench_skullstrip: HD-BET accurate+TTA and deepbet s/scan);
# 2. the accuracy benchmark in its full configuration (2 mm / 128^3 as the reference project,
#    MSD at 1 mm with 32-filter U-Nets), first fold of each task at half its epochs (--quick).
# Prints every figure; JSON results under OUT (default gpu-output).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-gpu-output}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python -m pip install -q -c constraints.txt "./packages/core[hdbet,deepbet]" ./packages/classify ./packages/regress \
    ./packages/segment ./packages/explain torchio monai
python benchmarks/run_all.py --quick --out "$OUT/bench" 2>&1 | tee "$OUT/bench.log"
python benchmarks/accuracy/run.py --config full --quick --device cuda --out "$OUT/accuracy" 2>&1 | tee "$OUT/accuracy.log"
