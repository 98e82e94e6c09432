#!/usr/bin/env bash
# A file that is not a checkpoint, and a checkpoint whose contract does not fit,
# are refused with a message that names the file and what is wrong.
set -euo pipefail
recipe=$1
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$recipe" synth --output "$work/data" --train 4 --valid 2 --test 0 --min_side 100 --max_side 160 >/dev/null
echo "not a checkpoint" > "$work/bogus.pt"
"$here/expect_failure.sh" "bogus.pt: not a mixtrain checkpoint" \
  "$recipe" evaluate --dataset_path "$work/data" --checkpoint "$work/bogus.pt"
"$recipe" train --dataset_path "$work/data" --output_dir "$work/run" --epochs 1 --image_size 64 64 --batch_size 2 >/dev/null
"$here/expect_failure.sh" "last.pt: checkpoint does not fit.*input_size" \
  "$recipe" evaluate --dataset_path "$work/data" --output_dir "$work/run" --image_size 96 96
