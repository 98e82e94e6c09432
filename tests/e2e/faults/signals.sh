#!/usr/bin/env bash
# SIGTERM to a recipe that has no checkpoint policy: the loop stops at the
# next window end, writes recovery.pt and exits 0; --resume then ends with
# weights bit-identical to an uninterrupted run and metrics.csv has each
# epoch once. A second signal ends the process at once (status 143).
#   signals.sh resume <fault_recipe>
#   signals.sh second <fault_recipe>
set -euo pipefail
mode=$1
exe=$2
. "$(dirname "$0")/common.sh"
make_data "$exe" 12 3
flags=(--dataset_path "$work/data" --image_size 128 128 --batch_size 2 --num_workers 1 --threads 1 --cache_mb 0)

case $mode in
  resume)
    "$exe" train "${flags[@]}" --epochs 3 --output_dir "$work/straight" >"$work/straight.log" 2>&1 ||
      fail "the uninterrupted run"
    # Micro-batch 8 is the third of epoch 2 (6 per epoch); the signal lands while it stalls.
    "$exe" train "${flags[@]}" --epochs 3 --output_dir "$work/cut" --stall_at_step 8 --stall_seconds 2 \
      >"$work/cut.log" 2>&1 &
    pid=$!
    wait_for "$work/cut.log" "stalling at micro-batch 8" 120
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    expect_status 0 "$status" "the run given SIGTERM"
    grep -q "SIGTERM received: wrote $work/cut/recovery.pt at epoch 2, batch 3" "$work/cut.log" ||
      fail "no recovery checkpoint message"
    grep -q "interrupted; continue with --resume" "$work/cut.log" || fail "no resume hint"
    "$exe" train "${flags[@]}" --epochs 3 --output_dir "$work/cut" --resume "$work/cut/recovery.pt" \
      >"$work/resumed.log" 2>&1 || fail "resuming from recovery.pt"
    "$exe" same_weights "$work/straight/last.pt" "$work/cut/last.pt" >"$work/compare.log" 2>&1 ||
      fail "the resumed run's weights differ from the uninterrupted run's"
    # Epoch, loss and validation columns (not the timings) match, each epoch once.
    diff <(cut -d, -f1-9 "$work/straight/metrics.csv") <(cut -d, -f1-9 "$work/cut/metrics.csv") >"$work/csv.log" ||
      fail "metrics.csv of the resumed run differs"
    echo "SIGTERM: exit 0, recovery.pt, resumed bit-identical ($(tail -n 1 "$work/compare.log")), metrics.csv same"
    ;;
  second)
    "$exe" train "${flags[@]}" --epochs 2 --output_dir "$work/run" --stall_at_step 2 --stall_seconds 20 \
      >"$work/run.log" 2>&1 &
    pid=$!
    wait_for "$work/run.log" "stalling at micro-batch 2" 120
    kill -TERM "$pid"
    sleep 0.5
    start=$SECONDS
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    expect_status 143 "$status" "the run given two SIGTERMs"
    ((SECONDS - start <= 5)) || fail "the second signal took $((SECONDS - start)) s to end the process"
    echo "a second SIGTERM ended the process at once (status 143)"
    ;;
  *) fail "unknown mode $mode" ;;
esac
