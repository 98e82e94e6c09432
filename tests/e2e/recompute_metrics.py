#!/usr/bin/env python3
"""Recomputes `evaluate`'s metrics from `predict`'s output and the annotation
files, with nothing of mixtrain but the file layout (standard library only).

  recompute_metrics.py mark-missing DATA
      Edits the valid split of a synthetic Aariz tree so that the ground truth
      exercises every rule: in the first image both annotators leave the first
      landmark unmarked (it does not count), in the second the senior leaves
      the second landmark unmarked (the junior's mark is the truth), and the
      third image has no junior file (the senior's marks are the truth).
  recompute_metrics.py check DATA SPLIT PREDICTIONS EVALUATION_JSON
      PREDICTIONS: predict's output, one JSON object per line with "image" and
      "landmarks" {symbol: {"x", "y"}} in original pixels. The radial error of
      a landmark is |predicted - truth| * pixel size, where the truth is the
      mean of the annotators who marked it and the pixel size comes from
      cephalogram_machine_mappings.csv. MRE, SD (n - 1), SDR and per-landmark
      MRE must match EVALUATION_JSON (evaluate's evaluation_<split>.json).
"""
import csv
import glob
import json
import math
import os
import sys

ANNOTATORS = ["Senior Orthodontists", "Junior Orthodontists"]
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp"}
SDR_MM = {"sdr_2mm": 2.0, "sdr_2_5mm": 2.5, "sdr_3mm": 3.0, "sdr_4mm": 4.0}
TOLERANCE_MM = 1e-4


def landmark_file(data, split, annotator, image_id):
    return os.path.join(data, split, "Annotations", "Cephalometric Landmarks", annotator, image_id + ".json")


def image_ids(data, split):
    files = glob.glob(os.path.join(data, split, "Cephalograms", "*"))
    return sorted(os.path.splitext(os.path.basename(f))[0] for f in files
                  if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS)


def pixel_sizes(data):
    with open(os.path.join(data, "cephalogram_machine_mappings.csv"), newline="") as f:
        return {row["cephalogram_id"]: float(row["pixel_size"]) for row in csv.DictReader(f)}


def ground_truth(data, split, image_id):
    """{symbol: (x, y)} for the landmarks at least one annotator marked."""
    sums = {}
    for annotator in ANNOTATORS:
        path = landmark_file(data, split, annotator, image_id)
        if not os.path.exists(path):
            continue
        for entry in json.load(open(path))["landmarks"]:
            value = entry["value"]
            if value is None:
                continue
            x, y, n = sums.get(entry["symbol"], (0.0, 0.0, 0))
            sums[entry["symbol"]] = (x + value["x"], y + value["y"], n + 1)
    return {symbol: (x / n, y / n) for symbol, (x, y, n) in sums.items()}


def summary(errors):
    n = len(errors)
    if n == 0:
        return {"mre_mm": 0.0, "sd_mm": 0.0, **{key: 0.0 for key in SDR_MM}}
    mean = sum(errors) / n
    sd = math.sqrt(sum((e - mean) ** 2 for e in errors) / (n - 1)) if n > 1 else 0.0
    out = {"mre_mm": mean, "sd_mm": sd}
    for key, threshold in SDR_MM.items():
        out[key] = sum(1 for e in errors if e <= threshold) / n
    return out


def mark_missing(data):
    ids = image_ids(data, "valid")
    assert len(ids) >= 3, "mark-missing needs at least 3 valid images"

    def edit(image_id, annotator, index):
        path = landmark_file(data, "valid", annotator, image_id)
        j = json.load(open(path))
        j["landmarks"][index]["value"] = None
        json.dump(j, open(path, "w"))

    for annotator in ANNOTATORS:
        edit(ids[0], annotator, 0)
    edit(ids[1], ANNOTATORS[0], 1)
    os.remove(landmark_file(data, "valid", ANNOTATORS[1], ids[2]))
    print(f"valid: {ids[0]} lacks landmark 0, {ids[1]} has only the junior mark of landmark 1, "
          f"{ids[2]} has no junior file")


def check(data, split, predictions_file, evaluation_file):
    sizes = pixel_sizes(data)
    predictions = {}
    for line in open(predictions_file):
        if line.strip():
            p = json.loads(line)
            predictions[os.path.splitext(os.path.basename(p["image"]))[0]] = p["landmarks"]
    ids = image_ids(data, split)
    problems = []
    if sorted(predictions) != ids:
        problems.append(f"predict covered {sorted(predictions)}, the split holds {ids}")
    evaluated = json.load(open(evaluation_file))
    symbols = list(evaluated["per_landmark"])
    everything, per_landmark, absent = [], {s: [] for s in symbols}, 0
    for image_id in ids:
        truth = ground_truth(data, split, image_id)
        predicted = predictions.get(image_id, {})
        if set(predicted) != set(symbols):
            problems.append(f"{image_id}: predicted symbols {sorted(predicted)} differ from {sorted(symbols)}")
            continue
        for symbol in symbols:
            if symbol not in truth:
                absent += 1
                continue
            (tx, ty), p = truth[symbol], predicted[symbol]
            error = math.hypot(p["x"] - tx, p["y"] - ty) * sizes[image_id]
            everything.append(error)
            per_landmark[symbol].append(error)
    mine = summary(everything)
    print(f"{len(ids)} images, {len(everything)} annotated landmarks, {absent} not annotated")
    for key, value in mine.items():
        tolerance = TOLERANCE_MM if key in ("mre_mm", "sd_mm") else 1e-9  # SDRs are fractions
        print(f"  {key}: recomputed {value:.6f}, evaluate {evaluated[key]:.6f}")
        if abs(value - evaluated[key]) > tolerance:
            problems.append(f"{key}: recomputed {value}, evaluate wrote {evaluated[key]}")
    for symbol in symbols:
        value, reported = summary(per_landmark[symbol])["mre_mm"], evaluated["per_landmark"][symbol]["mre_mm"]
        if abs(value - reported) > TOLERANCE_MM:
            problems.append(f"MRE of {symbol}: recomputed {value}, evaluate wrote {reported}")
    if absent == 0:
        problems.append("no landmark was left unannotated: run mark-missing first, the check needs that case")
    for problem in problems:
        print("FAIL:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "mark-missing":
        mark_missing(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) == 6 and sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:]))
    print(__doc__)
    sys.exit(2)
