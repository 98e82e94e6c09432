#!/usr/bin/env bash
# NaN losses (a NaN input on chosen micro-batches): a bad step is skipped and
# counted and the run goes on; N bad steps in a row stop it with a message
# and status 1, its checkpoints hold finite weights.
#   nonfinite.sh <fault_recipe>
set -euo pipefail
exe=$1
. "$(dirname "$0")/common.sh"
make_data "$exe" 6 2
flags=(--dataset_path "$work/data" --image_size 128 128 --batch_size 2 --num_workers 1 --threads 1 --cache_mb 0)

# One poisoned micro-batch (3 per epoch, so the first of epoch 2).
"$exe" train "${flags[@]}" --epochs 2 --poison_from_step 3 --poison_steps 1 --output_dir "$work/once" \
  >"$work/once.log" 2>&1 || fail "a run with one NaN step did not finish"
grep -q "epoch   2/2 .*skipped 1 non-finite steps" "$work/once.log" || fail "the skipped step is not reported"
python3 - "$work/once/metrics.csv" <<'PY' || fail "metrics.csv holds a non-finite loss"
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 2 and all(math.isfinite(float(r["train_loss"])) for r in rows), rows
PY
"$exe" finite_weights "$work/once/last.pt" >"$work/once_weights.log" 2>&1 || fail "weights not finite after one NaN step"

# From micro-batch 4 on: bad steps 4, 5 (epoch 2) and 6 (epoch 3) stop the run.
status=0
"$exe" train "${flags[@]}" --epochs 4 --poison_from_step 4 --poison_steps 1000 --max_nonfinite_steps 3 \
  --output_dir "$work/stop" >"$work/stop.log" 2>&1 || status=$?
expect_status 1 "$status" "a run with NaN losses from step 4"
grep -q "3 optimizer steps in a row had a NaN or inf loss (--max_nonfinite_steps 3)" "$work/stop.log" ||
  fail "no message naming the limit"
"$exe" finite_weights "$work/stop/recovery.pt" >"$work/stop_weights.log" 2>&1 || fail "recovery.pt weights not finite"
"$exe" finite_weights "$work/stop/last.pt" >>"$work/stop_weights.log" 2>&1 || fail "last.pt weights not finite"
echo "one NaN step skipped and counted; three in a row stopped the run with finite checkpoints"
