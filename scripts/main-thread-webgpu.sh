#!/bin/bash
# The training page on WebGPU (SwiftShader, the software adapter headless Chromium has) during the responsive
# test's presses (scripts/main-thread-profile.ts --pause: nano, 200 steps, served cross-origin isolated; Pause once
# step 0's snapshot has reached the page, then Resume, then Stop), three rounds, each round twice in turn: as
# Chromium runs (as root it raises its GPU process's main thread to nice -8) and with every Chromium thread kept
# at nice 0 (--renice-gpu, an experiment on the cause); then one traced round (--detail) saying what each thread
# did. Each run through scripts/measure.sh (its own session at high priority). Writes OUT/ROUND-chromium.json,
# OUT/ROUND-reniced.json, OUT/detail.json/.txt and OUT/summary.txt.
#
#   npm run build && scripts/main-thread-webgpu.sh data/runs/main-thread/webgpu
set -euo pipefail
out=${1:?usage: scripts/main-thread-webgpu.sh OUT_DIR}
here=$(dirname "$0")
mkdir -p "$out"
: > "$out/summary.txt"
run() {
  local name=$1; shift
  "$here/measure.sh" timeout 400 node --import tsx "$here/main-thread-profile.ts" --page train --backend webgpu --isolated --pause "$@" --json "$out/$name.json" > "$out/$name.log" 2>&1 || true
  echo "$name: $(head -2 "$out/$name.log" | tr '\n' ' ') $(grep -E '^Pause:' "$out/$name.log" || echo 'no presses reported')" | tee -a "$out/summary.txt"
}
for round in 1 2 3; do
  run "$round-chromium"
  run "$round-reniced" --renice-gpu
done
run detail --detail
mv "$out/detail.log" "$out/detail.txt"
rm -f "$out"/[0-9]-*.log
