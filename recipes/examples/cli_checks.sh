#!/usr/bin/env bash
# The example recipes through the command line (mt::main), on a small
# synthetic dataset written in both layouts by `example_checks --write-dataset`.
#   cli_checks.sh csv_recipe <bin dir>     train and evaluate the CSV recipe; evaluate an
#                                          Aariz-trained checkpoint on the CSV copy (same contract)
#   cli_checks.sh freeze_resume <bin dir>  --resume across the epoch that unfreezes the backbone
set -euo pipefail
mode=$1
bin=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/example_checks" --write-dataset "$work/data"
common=(--dataset_path "$work/data" --image_size 64 64 --batch_size 4 --num_workers 1 --threads 1)

fail() {
  echo "FAILED: $*"
  exit 1
}

case $mode in
  csv_recipe)
    "$bin/example_csv_landmarks" train "${common[@]}" --epochs 2 --output_dir "$work/csv" >"$work/train.log" 2>&1 ||
      { cat "$work/train.log"; fail "training the CSV recipe"; }
    grep -q '"baseline_mre_mm"' "$work/csv/metrics.json" || fail "metrics.json lacks the baseline"
    grep -Eq '"name": *"csv_landmarks"' "$work/csv/config.json" || fail "config.json does not name the data source"
    "$bin/example_csv_landmarks" evaluate "${common[@]}" --split test --output_dir "$work/csv" >"$work/evaluate.log" 2>&1 ||
      { cat "$work/evaluate.log"; fail "evaluating the CSV recipe's checkpoint"; }
    test -f "$work/csv/evaluation/test/metrics.json" || fail "no evaluation/test/metrics.json"
    # Same model, task and preprocessing contract: an Aariz-trained checkpoint fits the CSV recipe.
    "$bin/example_freeze_backbone" train "${common[@]}" --epochs 1 --output_dir "$work/aariz" >"$work/aariz.log" 2>&1 ||
      { cat "$work/aariz.log"; fail "training the Aariz recipe"; }
    "$bin/example_csv_landmarks" evaluate "${common[@]}" --checkpoint "$work/aariz/last.pt" --output_dir "$work/cross" \
      >"$work/cross.log" 2>&1 || { cat "$work/cross.log"; fail "evaluating the Aariz checkpoint on the CSV copy"; }
    echo "the CSV recipe trained and evaluated; an Aariz-trained checkpoint evaluated on the same images as CSV"
    ;;
  freeze_resume)
    "$bin/example_freeze_backbone" train "${common[@]}" --freeze_epochs 2 --epochs 1 --output_dir "$work/run" \
      >"$work/first.log" 2>&1 || { cat "$work/first.log"; fail "the first epoch"; }
    grep -q "backbone frozen from epoch 0" "$work/first.log" || { cat "$work/first.log"; fail "no freeze at epoch 0"; }
    "$bin/example_freeze_backbone" train "${common[@]}" --freeze_epochs 2 --epochs 4 --resume "$work/run/last.pt" \
      --output_dir "$work/run" >"$work/resumed.log" 2>&1 || { cat "$work/resumed.log"; fail "resuming"; }
    grep -q "backbone frozen from epoch 1" "$work/resumed.log" || { cat "$work/resumed.log"; fail "not frozen after resuming"; }
    grep -q "backbone trained from epoch 2" "$work/resumed.log" || { cat "$work/resumed.log"; fail "not unfrozen at epoch 2"; }
    cp "$work/run/last.pt" "$work/after_unfreeze.pt"
    "$bin/example_freeze_backbone" train "${common[@]}" --freeze_epochs 2 --epochs 5 --resume "$work/after_unfreeze.pt" \
      --output_dir "$work/run" >"$work/again.log" 2>&1 || { cat "$work/again.log"; fail "resuming after the unfreeze"; }
    grep -q "backbone trained from epoch 4" "$work/again.log" || { cat "$work/again.log"; fail "frozen after resuming past K"; }
    echo "resumed before and after the unfreezing epoch; the optimizer state loaded both times"
    ;;
  *)
    fail "unknown mode '$mode'"
    ;;
esac
