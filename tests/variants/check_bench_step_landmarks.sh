#!/usr/bin/env bash
# bench step --dataset_path D builds the model for D's landmark set: a tiny
# synthetic Aariz tree cut to 19 landmarks gives 19 outputs, not Aariz's 29.
set -euo pipefail
recipe=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$recipe" synth --output "$work/data" --train 2 --valid 1 --test 1 --min_side 128 --max_side 160 >/dev/null
/usr/bin/python3 - "$work/data" <<'PY'
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*/Annotations/Cephalometric Landmarks/*/*.json"):
    d = json.load(open(f))
    d["landmarks"] = d["landmarks"][:19]
    json.dump(d, open(f, "w"))
PY
out=$("$recipe" bench step --dataset_path "$work/data" --steps 1 --warmup 0 --batch_size 1 --image_size 64 64 2>/dev/null | tail -1)
echo "$out" | grep -q '"num_landmarks":19' || { echo "expected 19 landmarks: $out"; exit 1; }
echo "$out" | grep -q '"data":"pipeline"' || { echo "expected batches from the recipe's pipeline: $out"; exit 1; }
out=$("$recipe" bench step --dataset_path "$work/data" --num_landmarks 7 --steps 1 --warmup 0 --batch_size 1 --image_size 64 64 2>/dev/null | tail -1)
echo "$out" | grep -q '"num_landmarks":7' || { echo "--num_landmarks 7 must win: $out"; exit 1; }
echo "$out" | grep -q '"data":"random"' || { echo "19-landmark batches cannot feed 7 outputs: random batches expected: $out"; exit 1; }
echo "bench step: 19 landmarks from the dataset, 7 when asked"
