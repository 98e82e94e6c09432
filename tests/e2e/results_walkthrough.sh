#!/usr/bin/env bash
# The README's results walk-through from a run folder: `predict --overlay` on
# two images, `evaluate` (preprocessing from the checkpoint, no repeated
# flags) writing the measurement table and report.html, and `evaluate
# --compare` against an earlier checkpoint. Checked independently in Python:
# overlay pixels at the predicted points, mm = px x pixel size, the
# comparison's means against each evaluation's MRE, and its Wilcoxon p-value
# against a brute-force enumeration of all sign flips.
#   results_walkthrough.sh <aariz_demo>
set -euo pipefail
recipe=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=PASSIVE
"$recipe" synth --output "$work/data" --train 12 --valid 6 --test 6 --min_side 256 --max_side 320 --seed 5 >/dev/null
common=(--dataset_path "$work/data" --threads 1 --num_workers 1)
"$recipe" train "${common[@]}" --output_dir "$work/run" --epochs 2 --image_size 128 128 --batch_size 4 >/dev/null
cp "$work/run/last.pt" "$work/early.pt"
"$recipe" train "${common[@]}" --output_dir "$work/run" --epochs 4 --image_size 128 128 --batch_size 4 \
  --resume "$work/run/last.pt" >/dev/null
[ -s "$work/run/report.html" ] || { echo "train wrote no report.html"; exit 1; }

images=("$work"/data/test/Cephalograms/*)
"$recipe" predict --output_dir "$work/run" --overlay --pixel_size 0.1 "${images[0]}" "${images[1]}" >"$work/predict.jsonl"
"$recipe" evaluate "${common[@]}" --output_dir "$work/run" --split test >"$work/evaluate.log"
cp -r "$work/run/evaluation/test" "$work/evaluation_last"
"$recipe" evaluate "${common[@]}" --output_dir "$work/run" --split test --checkpoint "$work/early.pt" >/dev/null
cp "$work/run/evaluation/test/metrics.json" "$work/evaluation_early.json"
cp "$work/run/evaluation/test/predictions.csv" "$work/predictions_early.csv"
"$recipe" evaluate "${common[@]}" --output_dir "$work/run" --split test --compare "$work/early.pt" >"$work/compare.log"

"$here/check_report_html.sh" "$work/run/evaluation/test/report.html" "$work/shots" >/dev/null
"$here/check_report_html.sh" "$work/run/report.html" "$work/shots_train" >/dev/null

/usr/bin/python3 - "$work" <<'PY'
import csv, itertools, json, math, os, sys
import cv2
import numpy as np
work = sys.argv[1]
run = f"{work}/run"

# predict: one JSON line per image, mm = px * 0.1, a confidence, measurements; CSV rows; overlays.
lines = [json.loads(l) for l in open(f"{work}/predict.jsonl")]
assert len(lines) == 2, len(lines)
rows = list(csv.DictReader(open(f"{run}/predictions/predictions.csv")))
assert len(rows) == 2 * 29, len(rows)
for p in lines:
    assert p["pixel_size_mm"] == 0.1 and p["pixel_size_source"] == "--pixel_size", p["pixel_size_source"]
    gray = cv2.imread(p["image"], cv2.IMREAD_GRAYSCALE)
    overlay = cv2.imread(f"{run}/predictions/overlays/{p['id']}.png", cv2.IMREAD_COLOR)
    assert overlay.shape[:2] == gray.shape, (overlay.shape, gray.shape)  # original resolution
    for symbol, l in p["landmarks"].items():
        assert abs(l["x_mm"] - 0.1 * l["x"]) < 1e-9 and abs(l["y_mm"] - 0.1 * l["y"]) < 1e-9, l
        assert isinstance(l["confidence"], float), l
        x, y = int(round(l["x"])), int(round(l["y"]))
        if 0 <= x < gray.shape[1] and 0 <= y < gray.shape[0]:
            b, g, r = (int(v) for v in overlay[y, x])
            assert max(b, g, r) - min(b, g, r) > 60, (symbol, overlay[y, x])  # a coloured mark, not gray
    assert json.load(open(f"{run}/predictions/{p['id']}.json"))["landmarks"].keys() == p["landmarks"].keys()
    anb = p["measurements"]["ANB"]
    assert anb["unit"] == "deg" and (anb["value"] is None or math.isfinite(anb["value"])), anb

# evaluate: the files, the measurement table and the per-device results.
folder = f"{work}/evaluation_last"
for name in ("metrics.json", "per_landmark.csv", "predictions.csv", "summary.md", "measurements.md", "report.html"):
    assert os.path.getsize(f"{folder}/{name}") > 0, name
m = json.load(open(f"{folder}/metrics.json"))
assert sum(d["images"] for d in m["per_device"].values()) == 6, m["per_device"]
assert sum(int(r["images"]) for r in csv.DictReader(open(f"{folder}/per_device.csv"))) == 6
assert "| ANB | deg | 6 |" in open(f"{folder}/measurements.md").read()
assert m["measurements"]["measurements"]["SNA"]["count"] == 6, m["measurements"]["measurements"]["SNA"]
gallery = os.listdir(f"{folder}/gallery")
assert len(gallery) == 29 * 3, len(gallery)
per_landmark = list(csv.DictReader(open(f"{folder}/per_landmark.csv")))
assert per_landmark[-1]["landmark"] == "overall" and abs(float(per_landmark[-1]["mre_mm"]) - m["mre_mm"]) < 1e-3

# --compare: A = last.pt, B = early.pt; means agree with the two evaluations.
c = json.load(open(f"{run}/evaluation/test/comparison.json"))
early = json.load(open(f"{work}/evaluation_early.json"))
o = c["overall"]
assert abs(o["mean_a_mm"] - m["mre_mm"]) < 1e-6 and abs(o["mean_b_mm"] - early["mre_mm"]) < 1e-6, (o, m["mre_mm"], early["mre_mm"])
assert len(c["landmarks"]) == 29

# The overall test pairs per-image MREs: recompute them from each predictions.csv and
# enumerate all 2^n sign flips for the exact two-sided p (no ties expected).
def per_image(path):
    errors = {}
    for r in csv.DictReader(open(path)):
        if r["error_mm"]:
            errors.setdefault(r["image"], []).append(float(r["error_mm"]))
    return {k: sum(v) / len(v) for k, v in errors.items()}
a = per_image(f"{folder}/predictions.csv")
b = per_image(f"{work}/predictions_early.csv")
d = [b[k] - a[k] for k in sorted(a) if abs(b[k] - a[k]) > 1e-9]
order = sorted(range(len(d)), key=lambda i: abs(d[i]))
rank = [0] * len(d)
for r, i in enumerate(order):
    rank[i] = r + 1
w_plus = sum(rank[i] for i in range(len(d)) if d[i] > 0)
sums = [sum(r for r, s in zip(range(1, len(d) + 1), signs) if s) for signs in itertools.product([0, 1], repeat=len(d))]
low = sum(1 for s in sums if s <= w_plus) / len(sums)
high = sum(1 for s in sums if s >= w_plus) / len(sums)
p = min(1.0, 2 * min(low, high))
w = o["wilcoxon"]
assert w["method"] == "exact" and w["w_plus"] == w_plus, (w, w_plus)
assert abs(w["p_value"] - p) < 1e-12, (w["p_value"], p)
lo, hi = o["ci_mm"]
assert lo <= o["mean_difference_mm"] <= hi, o
print(f"compare: MRE {o['mean_a_mm']:.3f} (last) vs {o['mean_b_mm']:.3f} mm (early), W+ {w_plus}, p {p:.4f}")
PY
echo "predict --overlay, evaluate (measurements, report.html) and --compare checked"
