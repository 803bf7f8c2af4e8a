#!/bin/bash
# The threads table of issue #16: the lab at 1 and 2 kernel threads against the
# PyTorch references at 1 and 2 threads, micro and pooled-stride4, three rounds,
# one after the other (ratios are compared within a round). Writes one JSON line
# per measurement to data/runs/bench/threads.jsonl. Run at measurement priority:
#   scripts/measure.sh scripts/threads-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/runs/bench/threads.jsonl
mkdir -p "$(dirname "$out")"; : > "$out"
for round in 1 2 3; do
  for preset in micro pooled-stride4; do
    lab=$(node bin/stlm.js bench --preset "$preset" --threads 2 --steps 8 --warmup 2 --loop 0 --json | tail -1)
    echo "{\"round\":$round,\"preset\":\"$preset\",\"system\":\"lab\",\"result\":$lab}" >> "$out"
    for t in 1 2; do
      if [ "$preset" = micro ]; then ref=../shared/bench/reference_torch.py; else ref=scripts/reference_pooled_torch.py; fi
      torch=$(OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t /usr/bin/python3 "$ref" --threads "$t" --steps 15 --warmup 3 --json | tail -1)
      echo "{\"round\":$round,\"preset\":\"$preset\",\"system\":\"torch\",\"threads\":$t,\"result\":$torch}" >> "$out"
    done
  done
done
echo "wrote $out"
