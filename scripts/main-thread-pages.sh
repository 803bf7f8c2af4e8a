#!/bin/bash
# The main thread during a live run on every page that trains (scripts/main-thread-profile.ts, wasm, 12 s
# each, at high priority through scripts/measure.sh), for two builds page by page in turn so both see about
# the same machine load: BEFORE_DIST (a built dist/ of another commit) and this checkout's dist/.
# Writes OUT/PAGE-before.json, OUT/PAGE-after.json and OUT/summary.txt.
#
#   npm run build && BEFORE_DIST=/path/to/other/dist scripts/main-thread-pages.sh data/runs/main-thread
set -euo pipefail
out=${1:?usage: BEFORE_DIST=DIR scripts/main-thread-pages.sh OUT_DIR}
: "${BEFORE_DIST:?set BEFORE_DIST to the dist/ of the build to compare with}"
mkdir -p "$out"
: > "$out/summary.txt"
for p in train sharing objectives tokenizer-free dropout distillation self-play evaluate bench; do
  for which in before after; do
    if [ "$which" = before ]; then export STLM_E2E_DIST=$BEFORE_DIST; else unset STLM_E2E_DIST; fi
    "$(dirname "$0")/measure.sh" node --import tsx "$(dirname "$0")/main-thread-profile.ts" --page "$p" --seconds 12 --json "$out/$p-$which.json" > "$out/$p-$which.log" 2>&1 || true
    echo "$which $(head -2 "$out/$p-$which.log" | tr '\n' ' ')" | tee -a "$out/summary.txt"
    rm -f "$out/$p-$which.log"
  done
done
