#!/usr/bin/env bash
# End to end through the recipe executable: synthesise data, train briefly,
# then `evaluate` the final checkpoint and compare with what training recorded.
set -euo pipefail
recipe=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$recipe" synth --output "$work/data" --train 12 --valid 6 --test 3 --min_side 200 --max_side 420 --seed 5
"$recipe" train --dataset_path "$work/data" --output_dir "$work/run" --epochs 2 --image_size 128 128 --batch_size 4 --threads 1
for f in config.json metrics.csv metrics.json last.pt; do
  [ -s "$work/run/$f" ] || { echo "missing $f"; exit 1; }
done
"$recipe" evaluate --dataset_path "$work/data" --output_dir "$work/run" --split valid --image_size 128 128 --threads 1
/usr/bin/python3 - "$work/run" <<'PY'
import json, sys, csv
run = sys.argv[1]
trained = json.load(open(f"{run}/metrics.json"))
evaluated = json.load(open(f"{run}/evaluation/valid/metrics.json"))
for key in ["mre_mm", "sd_mm", "sdr_2mm", "sdr_2_5mm", "sdr_3mm", "sdr_4mm", "baseline_mre_mm"]:
    assert key in trained, f"metrics.json lacks {key}"
    assert abs(trained[key] - evaluated[key]) <= 1e-4, f"{key}: training recorded {trained[key]}, evaluate gave {evaluated[key]}"
rows = list(csv.DictReader(open(f"{run}/metrics.csv")))
assert len(rows) == 2, f"expected 2 epochs in metrics.csv, got {len(rows)}"
assert abs(float(rows[-1]["val_mre"]) - trained["mre_mm"]) <= 1e-4
for symbol in ["A", "Sn", "Pog'"]:
    assert symbol in trained["per_landmark"], symbol
print("golden: evaluate reproduces training's validation metrics:", trained["mre_mm"], evaluated["mre_mm"])
PY
# predict needs no dataset: the checkpoint carries the landmark set and preprocessing.
image=$(ls "$work"/data/valid/Cephalograms/* | head -n 1)
"$recipe" predict --output_dir "$work/run" "$image" | /usr/bin/python3 -c '
import json, sys
lines = sys.stdin.read().strip().splitlines()
assert len(lines) == 1, lines
p = json.loads(lines[0])
assert len(p["landmarks"]) == 29 and "Sn" in p["landmarks"], p
print("predict ok:", p["image"])'
