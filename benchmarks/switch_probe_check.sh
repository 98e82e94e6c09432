#!/usr/bin/env bash
# How well the start-up probe of `auto` switches (128 px, docs/policies.md)
# predicts larger steps: the HRNet-W32 recipe's full training step (bench step)
# for float32/bf16 x NCHW/NHWC, forced, at the probe's size and at a larger
# one, interleaved in rounds; prints each median and its ratio to float32 NCHW
# at the same size, then the probe's own choice on this machine.
# usage: benchmarks/switch_probe_check.sh BUILD_DIR [large_side] [rounds] [threads]
set -euo pipefail
build=${1:-build}
large=${2:-256}
rounds=${3:-2}
threads=${4:-2}
recipe="$build/recipes/aariz_hrnet_w32"
declare -A flags=([float32_nchw]="--mixed_precision=no --channels_last=false"
                  [float32_nhwc]="--mixed_precision=no --channels_last=force"
                  [bf16_nchw]="--mixed_precision=force --channels_last=false"
                  [bf16_nhwc]="--mixed_precision=force --channels_last=force")
configs=(float32_nchw float32_nhwc bf16_nchw bf16_nhwc)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((r = 0; r < rounds; r++)); do
  for side in 128 "$large"; do
    for config in "${configs[@]}"; do
      # shellcheck disable=SC2086
      "$recipe" bench step --image_size "$side" "$side" --batch_size 2 --steps 2 --warmup 1 --num_landmarks 19 \
        --threads "$threads" --use_ema=false ${flags[$config]} 2>/dev/null | tail -n 1 |
        /usr/bin/python3 -c 'import json,sys; print(sys.argv[1], sys.argv[2], json.load(sys.stdin)["median_step_s"])' \
          "$side" "$config" >>"$results"
    done
  done
done
/usr/bin/python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, config, seconds = line.split()
    rows.setdefault((int(side), config), []).append(float(seconds))
for side in sorted({s for s, _ in rows}):
    base = statistics.median(rows[(side, "float32_nchw")])
    ranked = sorted((statistics.median(v), c) for (s, c), v in rows.items() if s == side)
    for seconds, config in ranked:
        print(f"{side:>5} px  {config:<13} {seconds:8.3f} s/step  x{seconds / base:5.2f} of float32 NCHW")
    print(f"{side:>5} px  fastest: {ranked[0][1]}")
PY
# The probe's choice, measured afresh in a scratch cache (stderr's "auto:" line).
cache=$(mktemp -d)
MIXTRAIN_CACHE_DIR=$cache "$recipe" bench step --image_size 128 128 --batch_size 2 --steps 1 --warmup 0 \
  --num_landmarks 19 --threads "$threads" --use_ema=false 2>&1 >/dev/null | grep "^auto:" || true
rm -rf "$cache"
