#!/bin/sh
# The worked example of the guide "Writing your own report" (src/guide.md): two
# learning rates for the nano model on austen, three seeds each, trained with the
# stlm CLI into data/runs/example/, where src/data/example-runs.json.ts reads them.
#
#   sh scripts/example-report-runs.sh
#
# The page draws only each folder's run record (run.json) and metrics, so the
# checkpoints are deleted afterwards to keep the repository small (keep them if your
# readers should continue the runs with `stlm train --resume`). Each folder's
# run.json still records the SHA-256 of the checkpoint it was trained to.
set -eu
cd "$(dirname "$0")/.."
OUT=data/runs/example
for lr in 0.003 0.001; do
  for seed in 1 2 3; do
    dir="$OUT/lr$lr-seed$seed"
    rm -rf "$dir"
    node bin/stlm.js train --preset nano --corpus austen --steps 150 --batch 8 --eval-every 25 \
      --lr "$lr" --seed "$seed" --out "$dir" --quiet
    rm -f "$dir/checkpoint.safetensors" "$dir/.lock"
  done
done
