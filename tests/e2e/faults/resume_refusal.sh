#!/usr/bin/env bash
# --resume of a checkpoint from another run is refused before training, with
# every difference listed: another batch size, another policy list (a recipe
# with other policies but the same model, data and task), another dataset.
#   resume_refusal.sh <aariz_demo> <fault_recipe>
set -euo pipefail
demo=$1
other_policies=$2
. "$(dirname "$0")/common.sh"
make_data "$demo" 6 2
"$demo" synth --output "$work/other_data" --train 7 --valid 2 --test 0 --min_side 200 --max_side 300 --seed 3 >/dev/null
flags=(--image_size 128 128 --num_workers 1 --threads 1 --cache_mb 0)
"$demo" train "${flags[@]}" --dataset_path "$work/data" --batch_size 2 --epochs 1 --output_dir "$work/run" \
  >"$work/first.log" 2>&1 || fail "the first run"
cp "$work/run/metrics.csv" "$work/metrics_before.csv"

# refused <name> <regex> <exe> <flags...>
refused() {
  local name=$1 regex=$2 exe=$3
  shift 3
  local status=0
  "$exe" train "$@" --epochs 2 --resume "$work/run/last.pt" --output_dir "$work/run" >"$work/$name.log" 2>&1 || status=$?
  ((status != 0)) || fail "$name: the resume was accepted"
  grep -Eq -- "$regex" "$work/$name.log" || fail "$name: expected '$regex'"
  ! grep -q "first optimizer step" "$work/$name.log" || fail "$name: training started"
}
refused batch_size 'batch_size: checkpoint has 2, this run has 4' \
  "$demo" "${flags[@]}" --dataset_path "$work/data" --batch_size 4
refused policies 'policies: checkpoint has \[.*\], this run has \[.*poison_input.*\]' \
  "$other_policies" "${flags[@]}" --dataset_path "$work/data" --batch_size 2
refused dataset 'train_data: checkpoint has .*"images":6.*this run has .*"images":7' \
  "$demo" "${flags[@]}" --dataset_path "$work/other_data" --batch_size 2
cmp -s "$work/run/metrics.csv" "$work/metrics_before.csv" || fail "a refused resume changed metrics.csv"
echo "resumes with another batch size, policy list or dataset refused, differences listed"
