#!/usr/bin/env bash
# bench-seed: the seed guide's before/after (../shared/seed-guide-en.md), measured
# on this machine with the HRNet-W32 recipe, beside the speed-ups the guide guessed.
#   step: one training step (forward, loss, backward, AdamW, EMA) at
#         STEP_SIZE x STEP_SIZE (128: bf16 on a CPU without AMX takes ~10x
#         float32's time, and 1024 ~20 s per fp32 step), batch 2, random batches: fp32 without
#         channels-last (the seed's baseline), each optimisation alone, both.
#   data: the input pipeline alone at 1024x1024 on synthetic full-size images
#         (600-2400 px PNGs), cold (first-epoch) decodes: the seed's DataLoader
#         settings before (4 workers x prefetch 2, batch 4) and after (8 x 1,
#         batch 2), and the recipe's defaults.
# Every row runs 3 times, interleaved in rounds; medians and min-max are reported.
# PARTS=data (or step) re-runs one part and keeps the other's results.
# Usage: bench_seed.sh <aariz_hrnet_w32> <mixtrain-bench> <output folder>
set -euo pipefail
hrnet=$(realpath "$1")
runner=$(realpath "$2")
out=$3
step_size=${STEP_SIZE:-128}
repeats=${REPEATS:-3}
data_repeats=${DATA_REPEATS:-5}   # a data run takes ~2 s: more rounds for a stable median
mkdir -p "$out"
out=$(realpath "$out")

cat > "$out/manifest.json" <<JSON
{"name": "seed", "baseline": "hrnet_w32", "variants": [{"name": "hrnet_w32", "axes": {}, "executable": "$hrnet"}]}
JSON
parts=${PARTS:-step,data}   # PARTS=data re-measures the pipeline only (the step table is kept)
[[ $parts == *step* ]] && "$runner" --manifest "$out/manifest.json" --output "$out/step" --data random --repeats "$repeats" --steps 2 \
  --warmup 1 --timeout_s 500 --run_axis mixed_precision=no,force --run_axis channels_last=false,force \
  -- --image_size "$step_size" "$step_size" --batch_size 2 --num_landmarks 29 >"$out/step.log" 2>&1 \
  || { [[ $parts != *step* ]] || { cat "$out/step.log"; exit 1; }; }
[ -f "$out/step/results.json" ] || { echo "no step results in $out/step" >&2; exit 1; }

data="$out/synthetic-data"
[ -d "$data/Aariz/train" ] || [ -d "$data/train" ] ||
  "$hrnet" synth --output "$data" --train 120 --valid 0 --test 0 >/dev/null
# 96 images per run, timed from the pipeline's start (no warm-up): batches
# prefetched before a timed window would otherwise count as free.
declare -A rows=(
  [seed_before]="--num_workers 4 --prefetch_batches 8 --batch_size 4 --batches 24"
  [seed_after]="--num_workers 8 --prefetch_batches 8 --batch_size 2 --batches 48"
  [recipe_defaults]="--batches 48"
)
order=(seed_before seed_after recipe_defaults)
mkdir -p "$out/data"
for ((round = 0; round < data_repeats; round++)); do
  for k in 0 1 2; do
    name=${order[$(( (k + round) % 3 ))]}
    # shellcheck disable=SC2086
    "$hrnet" bench data --dataset_path "$data" --warmup 0 ${rows[$name]} \
      >"$out/data/$name.$round.out" 2>"$out/data/$name.$round.err" || { cat "$out/data/$name.$round.err"; exit 1; }
    echo "data round $((round + 1))/$data_repeats $name: $(head -n 1 "$out/data/$name.$round.out")" >&2
  done
done

/usr/bin/python3 "$(dirname "$0")/seed_table.py" "$out" "$step_size" "$repeats" "$data_repeats"
