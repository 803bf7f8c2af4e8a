#!/bin/bash
# The GEMM alone at 1 and 2 threads: the lab's (scripts/gemm-scaling.ts) and PyTorch's
# OpenBLAS (scripts/gemm_scaling_torch.py, once per thread count: OpenBLAS reads its
# count from the environment), on a micro step's products and a 2048^2 one. Writes
# data/runs/bench/gemm-scaling.jsonl. Run at measurement priority:
#   scripts/measure.sh scripts/gemm-scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/runs/bench/gemm-scaling.jsonl
mkdir -p "$(dirname "$out")"; : > "$out"
node --import tsx scripts/gemm-scaling.ts | tail -1 >> "$out"
for t in 1 2; do
  OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t /usr/bin/python3 scripts/gemm_scaling_torch.py "$t" | tail -1 >> "$out"
done
echo "wrote $out"
