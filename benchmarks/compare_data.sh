#!/usr/bin/env bash
# Side-by-side data-pipeline benchmark: mixtrain's pipeline (`<recipe> bench
# data`, no model) against a conventional torch DataLoader doing the same work
# (benchmarks/dataloader_peer.py), on the same Aariz-layout tree, at the same
# input size, batch size and worker count. Runs
#   cold  mixtrain without cache            vs  DataLoader, first epoch
#   warm  mixtrain with --cache_mb, after   vs  DataLoader, second epoch
#         one untimed epoch (--warm_cache)      (--warm_epoch; it has no cache)
# interleaved, --repeats times, then (--scaling) both at 1, 2 and 4 workers,
# and prints medians and ratios: images/s (mixtrain / DataLoader) and peak
# memory (mixtrain VmHWM / DataLoader RSS summed over main + workers; ratios
# of dirty PSS (what each side wrote itself) and of PSS, both sampled at 20 Hz,
# are printed too).
#
# Without --data, a synthetic tree at real sizes (1300-2400 px, PNG/JPEG/BMP
# mixed) is generated once with the recipe's `synth` subcommand.
#
# usage: benchmarks/compare_data.sh [--recipe EXE] [--data DIR] [--train N]
#          [--image_size W H] [--batch_size B] [--workers N] [--batches K]
#          [--cache_mb M] [--repeats R] [--scaling "1 2 4" | --no_scaling]
#          [--out FILE.jsonl]
# Needs /usr/bin/python3 with torch, cv2 and psutil (Debian python3-torch,
# python3-opencv, python3-psutil).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
recipe=""
data=""
train=120
width=1024
height=1024
batch=2
workers=2
batches=""
cache_mb=1024
repeats=3
scaling="1 2 4"
out=""
python=/usr/bin/python3

while [ $# -gt 0 ]; do
  case "$1" in
    --recipe) recipe=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --train) train=$2; shift 2 ;;
    --image_size) width=$2; height=$3; shift 3 ;;
    --batch_size) batch=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --cache_mb) cache_mb=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --scaling) scaling=$2; shift 2 ;;
    --no_scaling) scaling=""; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "compare_data.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$recipe" ]; then
  for candidate in "$root/build/recipes/aariz_demo" /tmp/build-data/recipes/aariz_demo; do
    if [ -x "$candidate" ]; then recipe=$candidate; break; fi
  done
fi
if [ -z "$recipe" ] || [ ! -x "$recipe" ]; then
  echo "compare_data.sh: no recipe executable; build one (cmake --build <dir> --target aariz_demo) and pass --recipe" >&2
  exit 2
fi
if [ -z "$data" ]; then
  data=/tmp/mixtrain-bench-aariz-$train
  if [ ! -d "$data/train/Cephalograms" ]; then
    echo "generating $train synthetic cephalograms (1300-2400 px, PNG/JPEG/BMP) in $data"
    "$recipe" synth --output "$data" --train "$train" --valid 2 --test 2 --min_side 1300 --max_side 2400 >/dev/null
  fi
fi
images=$(find "$data/train/Cephalograms" -maxdepth 1 -type f | wc -l)
if [ -z "$batches" ]; then batches=$(( (images + batch - 1) / batch )); fi  # one epoch: every image once
[ -n "$out" ] || out=$(mktemp /tmp/compare_data.XXXXXX.jsonl)
: > "$out"

common=(--dataset_path "$data" --image_size "$width" "$height" --batch_size "$batch")
# Appends the last line (the JSON object) of a run to $out, tagged.
record() {
  local label=$1; shift
  local line
  line=$("$@" 2>/dev/null | tail -n 1)
  if [ "${line:0:1}" != "{" ]; then
    echo "compare_data.sh: '$label' printed no JSON; rerun by hand: $*" >&2
    exit 1
  fi
  printf '%s\n' "$line" | "$python" -c 'import json,sys; d=json.loads(sys.stdin.read()); d["label"]=sys.argv[1]; print(json.dumps(d))' "$label" >> "$out"
  "$python" -c 'import json,sys; d=json.loads(sys.stdin.readline()); print("  %-24s %7.1f images/s  peak %6.0f MiB" % (sys.argv[1], d["images_per_s"], d["peak_rss_mb"]))' "$label" <<< "$line"
}
ours() { record "$1" "$recipe" bench data "${common[@]}" --num_workers "$2" --batches "$batches" "${@:3}"; }
peer() { record "$1" "$python" "$here/dataloader_peer.py" "${common[@]}" --num_workers "$2" --batches "$batches" "${@:3}"; }

echo "tree: $data ($images training images), input ${width}x${height}, batch $batch, $workers workers, $batches batches per run"
echo "recipe: $recipe"
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$repeats"); do
  echo "repeat $r/$repeats"
  ours "cold/mixtrain" "$workers" --cache_mb 0
  peer "cold/dataloader" "$workers"
  ours "warm/mixtrain" "$workers" --cache_mb "$cache_mb" --warm_cache
  peer "warm/dataloader" "$workers" --warm_epoch
done
for n in $scaling; do
  echo "scaling: $n workers"
  ours "scaling/mixtrain/$n" "$n" --cache_mb 0
  peer "scaling/dataloader/$n" "$n"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$python" - "$out" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def pick(label): return [r for r in rows if r["label"] == label]
def med(xs): return statistics.median(xs) if xs else float("nan")
print()
print("%-5s %11s %10s %7s %13s %12s %9s %9s %9s" % ("case", "mixtrain/s", "loader/s", "speed", "mixtrain MiB", "loader MiB",
                                                  "mem RSS", "mem dirty", "mem PSS"))
verdict = []
for case, speed_target in (("cold", 2.5), ("warm", 5.0)):
    ours, peer = pick(case + "/mixtrain"), pick(case + "/dataloader")
    if not ours or not peer: continue
    n = min(len(ours), len(peer))
    paired = lambda f: med([f(ours[i], peer[i]) for i in range(n)])  # run i of each side saw the same load
    speed = paired(lambda o, p: o["images_per_s"] / p["images_per_s"])
    mem_rss = paired(lambda o, p: o["peak_rss_mb"] / p["peak_rss_mb"])
    mem_dirty = paired(lambda o, p: o["peak_dirty_mb"] / p["peak_dirty_mb"])
    mem_pss = paired(lambda o, p: o["peak_pss_mb"] / p["peak_pss_mb"])
    print("%-5s %11.1f %10.1f %6.2fx %13.0f %12.0f %9.2f %9.2f %9.2f" % (
        case, med([o["images_per_s"] for o in ours]), med([p["images_per_s"] for p in peer]), speed,
        med([o["peak_rss_mb"] for o in ours]), med([p["peak_rss_mb"] for p in peer]), mem_rss, mem_dirty, mem_pss))
    line = "%s: speed %.2fx (target >= %.1fx: %s)" % (case, speed, speed_target, "met" if speed >= speed_target else "NOT met")
    if case == "cold":
        line += "; peak memory %.2f of the DataLoader's (RSS: our VmHWM / its summed RSS; target <= 0.5: %s), dirty %.2f, PSS %.2f" % (
            mem_rss, "met" if mem_rss <= 0.5 else "NOT met", mem_dirty, mem_pss)
    else:
        line += "; memory includes the --cache_mb cache (%.0f MiB used)" % med([o.get("cache_used_mb", 0) for o in ours])
    verdict.append(line)
print()
print("per-image worker time, ms (median over runs): decode / warp / rest")
for label in ("cold/mixtrain", "cold/dataloader", "warm/mixtrain", "warm/dataloader"):
    r = pick(label)
    if r:
        print("  %-18s %7.2f / %6.2f / %6.2f" % (label, *(med([x["per_image_ms"][k] for x in r]) for k in ("decode", "warp", "rest"))))
scal = sorted({int(r["label"].split("/")[2]) for r in rows if r["label"].startswith("scaling/")})
if scal:
    print()
    print("scaling (cold, one run each): workers, images/s and peak MiB")
    for n in scal:
        o, p = pick("scaling/mixtrain/%d" % n), pick("scaling/dataloader/%d" % n)
        print("  %2d workers: mixtrain %6.1f/s %5.0f MiB RSS %4.0f dirty | DataLoader %6.1f/s %5.0f MiB RSS %4.0f dirty %4.0f PSS" % (
            n, o[0]["images_per_s"], o[0]["peak_rss_mb"], o[0]["peak_dirty_mb"], p[0]["images_per_s"], p[0]["peak_rss_mb"],
            p[0]["peak_dirty_mb"], p[0]["peak_pss_mb"]))
print()
for v in verdict: print(v)
print("raw results:", sys.argv[1])
EOF
