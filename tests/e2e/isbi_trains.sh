#!/usr/bin/env bash
# The ISBI 2015 recipe end to end: `synth` writes the challenge's tree, two
# short epochs train on it, evaluate reads both test sets (taking the input
# size from the checkpoint, not from repeated flags), and inspect
# reports the junior annotator's known offset as the annotator floor.
#   isbi_trains.sh <isbi_demo>
set -euo pipefail
recipe=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$recipe" synth --output "$work/data" --train 8 --valid 4 --test 2 --min_side 200 --max_side 256 --seed 3
[ -s "$work/data/AnnotationsByMD/400_senior/001.txt" ] && [ -s "$work/data/RawImage/Test2Data/301.bmp" ] ||
  { echo "synth wrote no ISBI tree"; exit 1; }
"$recipe" train --dataset_path "$work/data" --output_dir "$work/run" --epochs 2 --image_size 128 128 --batch_size 4 \
  --num_workers 1 --threads 1 | tee "$work/train.log"
grep -q "^data: train 8, valid 4 images" "$work/train.log" || { echo "train did not log the data summary first"; exit 1; }
for split in test test2; do
  "$recipe" evaluate --dataset_path "$work/data" --output_dir "$work/run" --split "$split" --threads 1 >/dev/null
done
# Only a flag given explicitly that disagrees with the checkpoint is refused.
if "$recipe" evaluate --dataset_path "$work/data" --output_dir "$work/run" --split test --image_size 256 256 \
  --threads 1 >/dev/null 2>"$work/mismatch.err"; then
  echo "evaluate accepted --image_size 256 256 for a 128x128 checkpoint"; exit 1
fi
grep -q "input_size: checkpoint has \[128,128\], this run has \[256,256\]" "$work/mismatch.err" ||
  { echo "the refusal did not name the field:"; cat "$work/mismatch.err"; exit 1; }
"$recipe" inspect --dataset_path "$work/data" --output_dir "$work/run" --json >"$work/inspect.json"
/usr/bin/python3 - "$work" <<'PY'
import json, math, sys
work = sys.argv[1]
m = json.load(open(f"{work}/run/metrics.json"))
assert math.isfinite(m["mre_mm"]) and m["mre_mm"] > 0, m["mre_mm"]
assert len(m["per_landmark"]) == 19 and "Pog'" in m["per_landmark"], sorted(m["per_landmark"])
for split in ("test", "test2"):
    e = json.load(open(f"{work}/run/evaluation/{split}/metrics.json"))
    assert e["split"] == split and math.isfinite(e["mre_mm"]), e
r = json.load(open(f"{work}/inspect.json"))
assert [r["splits"][s]["images"] for s in ("train", "valid", "test", "test2")] == [8, 4, 2, 2], r["splits"]
# The synthetic junior annotator is the senior moved by (3, -2) px at 0.1 mm: sqrt(13) * 0.1 mm.
assert abs(r["annotator_gap_mm"]["overall"]["mean"] - math.sqrt(13) * 0.1) < 1e-9, r["annotator_gap_mm"]["overall"]
assert r["errors"] == [], r["errors"]
print("isbi_demo trained: MRE", m["mre_mm"], "mm; test and test2 evaluated; annotator floor",
      r["annotator_gap_mm"]["overall"]["mean"], "mm")
PY
