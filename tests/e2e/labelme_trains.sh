#!/usr/bin/env bash
# The labelme recipe end to end: `synth` writes a labelme tree (with repeated
# and missing labels), two short epochs train on it, metrics.json holds a
# finite MRE for the synthetic landmarks, and the reader's warning names the
# odd files once per split.
#   labelme_trains.sh <labelme_demo>
set -euo pipefail
recipe=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$recipe" synth --output "$work/data" --train 8 --valid 4 --test 2 --min_side 128 --max_side 200 --seed 5
[ -s "$work/data/symbols.txt" ] && [ -s "$work/data/train/case000.json" ] || { echo "synth wrote no labelme tree"; exit 1; }
"$recipe" train --dataset_path "$work/data" --output_dir "$work/run" --epochs 2 --image_size 128 128 --batch_size 4 \
  --num_workers 1 --threads 1 2>&1 | tee "$work/train.log"
grep -q "^warning: labelme train (8 files): 2 files repeat a label, averaged (case001.json: N x2; case005.json: " "$work/train.log" ||
  { echo "no warning naming the training files that repeat a label"; exit 1; }
[ "$(grep -c '^warning: labelme valid' "$work/train.log")" = 1 ] || { echo "expected one warning for the valid split"; exit 1; }
/usr/bin/python3 - "$work/run" <<'PY'
import json, math, sys
m = json.load(open(f"{sys.argv[1]}/metrics.json"))
assert math.isfinite(m["mre_mm"]) and m["mre_mm"] > 0, m["mre_mm"]
assert set(m["per_landmark"]) == {"S", "N", "Or", "Po", "A", "B", "Pog", "Me", "Go", "ANS"}, sorted(m["per_landmark"])
print("labelme_demo trained: MRE", m["mre_mm"], "mm")
PY
