#!/usr/bin/env bash
# An independent check of `evaluate`: train briefly, `predict` every image of
# the valid split, and recompute MRE, SD, SDR and per-landmark MRE in Python
# from predict's coordinates (original pixels), the annotation files (mean of
# the annotators who marked a landmark; unmarked landmarks do not count) and
# the pixel sizes of cephalogram_machine_mappings.csv. They must match
# evaluation/valid/metrics.json to 1e-4 mm.
set -euo pipefail
recipe=$1
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$recipe" synth --output "$work/data" --train 8 --valid 6 --test 0 --min_side 200 --max_side 420 --seed 11 >/dev/null
/usr/bin/python3 "$here/recompute_metrics.py" mark-missing "$work/data"
"$recipe" train --dataset_path "$work/data" --output_dir "$work/run" --epochs 1 --image_size 128 128 \
  --batch_size 4 --threads 1 >/dev/null
"$recipe" evaluate --dataset_path "$work/data" --output_dir "$work/run" --split valid --image_size 128 128 \
  --threads 1 >/dev/null
"$recipe" predict --output_dir "$work/run" --threads 1 "$work"/data/valid/Cephalograms/* > "$work/predictions.jsonl"
/usr/bin/python3 "$here/recompute_metrics.py" check "$work/data" valid "$work/predictions.jsonl" \
  "$work/run/evaluation/valid/metrics.json"
