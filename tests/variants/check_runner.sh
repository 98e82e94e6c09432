#!/usr/bin/env bash
# mixtrain-bench on fake variants: a failing one and one without JSON are
# reported as failed with their errors, the others still run every round and
# get their medians, p90, ratio to the baseline and the three report files.
set -euo pipefail
runner=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for v in fast slow broken nojson; do ln -s "$here/fake_variant.sh" "$work/$v"; done
echo "12.5" > "$work/fast.compile"
echo "1.5" > "$work/fast.link"
entry() { printf '{"name": "t__speed-%s", "axes": {"speed": "%s"}, "executable": "%s/%s", "compile_seconds_file": "%s/%s.compile", "link_seconds_file": "%s/%s.link"}' "$1" "$1" "$work" "$1" "$work" "$1" "$work" "$1"; }
cat > "$work/manifest.json" <<JSON
{"name": "t", "baseline": "t__speed-slow", "variants": [$(entry broken), $(entry fast), $(entry nojson), $(entry slow)]}
JSON
"$runner" --manifest "$work/manifest.json" --output "$work/out" --repeats 3 --steps 5 --warmup 0 -- --batch_size 8 >"$work/log" 2>&1 \
  || { cat "$work/log"; exit 1; }
grep -q "wrote $work/out/results.md" "$work/log"
test -s "$work/out/images_per_s.svg" && grep -q "failed" "$work/out/images_per_s.svg"
grep -q "\*\*failed\*\*: exit status 1: fake failure: out of memory" "$work/out/results.md"
/usr/bin/python3 - "$work/out/results.json" <<'PY'
import json, sys
r = {v["name"]: v for v in json.load(open(sys.argv[1]))["variants"]}
b, f, n, s = r["t__speed-broken"], r["t__speed-fast"], r["t__speed-nojson"], r["t__speed-slow"]
assert not b["ok"] and "out of memory" in b["error"] and b["runs_failed"] == 3, b
assert not n["ok"] and "no 'bench step' JSON" in n["error"], n
assert f["ok"] and f["runs_ok"] == 3 and abs(f["median_step_s"] - 0.1) < 1e-9, f
assert abs(f["images_per_s"] - 80) < 1e-6 and abs(f["speedup_vs_baseline"] - 2) < 1e-9, f
assert abs(f["p90_step_s"] - 0.3) < 1e-9 and f["peak_rss_mb"] == 300, f   # pooled steps: 0.09 .. 0.3, 3 copies
assert f["build_s"] == 14.0 and f["params"] == 1234 and f["policies"] == ["amp"], f
assert s["ok"] and abs(s["speedup_vs_baseline"] - 1) < 1e-9 and s["build_s"] is None, s
print("runner: failures reported, others measured")
PY
# A run-time axis: every variant runs with each value, a row each; the
# baseline is the manifest's variant at the axis's first value.
"$runner" --manifest "$work/manifest.json" --output "$work/out2" --repeats 1 --steps 5 --warmup 0 --run_axis threads=1,2 \
  >"$work/log2" 2>&1 || { cat "$work/log2"; exit 1; }
/usr/bin/python3 - "$work/out2/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
names = [v["name"] for v in r["variants"]]
assert len(names) == 8 and "t__speed-fast__threads-2" in names, names
assert r["baseline"] == "t__speed-slow__threads-1", r["baseline"]
fast2 = next(v for v in r["variants"] if v["name"] == "t__speed-fast__threads-2")
assert fast2["axes"] == {"speed": "fast", "threads": "2"} and abs(fast2["speedup_vs_baseline"] - 2) < 1e-9, fast2
print("runner: a run-time axis gives a row per value")
PY
# A load axis: every row again beside one busy-loop process; the runner
# leaves no busy process behind.
"$runner" --manifest "$work/manifest.json" --output "$work/out3" --repeats 1 --steps 5 --warmup 0 --busy_cores 0,1 \
  --data random >"$work/log3" 2>&1 || { cat "$work/log3"; exit 1; }
/usr/bin/python3 - "$work/out3/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
names = [v["name"] for v in r["variants"]]
assert len(names) == 8 and "t__speed-fast__busy_cores-1" in names, names
assert r["busy_cores"] == [0, 1] and r["data"] == "random batches", r
print("runner: a load axis gives a row per level")
PY
sleep 0.2
if pgrep -f -- "--output $work/out3" >/dev/null; then echo "busy-loop processes left behind"; exit 1; fi

# --train_minutes: every row trains (here 1.2 s, then SIGTERM) and its last
# validation MRE lands in the table; a variant that fails to train has none.
mkdir -p "$work/data"
"$runner" --manifest "$work/manifest.json" --output "$work/out4" --repeats 1 --steps 5 --warmup 0 \
  --dataset_path "$work/data" --train_minutes 0.02 >"$work/log4" 2>&1 || { cat "$work/log4"; exit 1; }
/usr/bin/python3 - "$work/out4/results.json" "$work/out4/train/t__speed-fast/run/metrics.csv" <<'PY'
import csv, json, sys
r = {v["name"]: v for v in json.load(open(sys.argv[1]))["variants"]}
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) >= 3, rows  # it ran for a while before SIGTERM
fast = r["t__speed-fast"]
assert fast["val_mre"] == float(rows[-1]["val_mre"]) and fast["trained_epochs"] == int(rows[-1]["epoch"]), fast
assert r["t__speed-broken"]["val_mre"] is None, r["t__speed-broken"]
print(f"runner: --train_minutes reports the last validation MRE ({fast['val_mre']} after {fast['trained_epochs']} epochs)")
PY
grep -q "val MRE (epochs)" "$work/out4/results.md"
