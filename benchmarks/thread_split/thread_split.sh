#!/usr/bin/env bash
# Fixed intra-op thread counts against mt::policy::thread_split, on the demo's
# synthetic data (200 training images of 600-2400 px, decoded in the first
# epoch), interleaved in rounds so that machine drift hits all alike.
#   thread_split.sh <demo_thread_split exe> <output dir> [rounds (3)] [epochs (3)]
# Extra flags for every run in $EXTRA_FLAGS (e.g. "--cache_mb 0": every epoch decodes).
# Prints a Markdown table (median over rounds of each epoch's images/s and data
# wait, from the console log's epoch lines) and writes it to <output>/thread_split.md.
set -euo pipefail
exe=$1
out=$2
rounds=${3:-3}
epochs=${4:-3}
mkdir -p "$out"
data=$out/data
[ -f "$data/cephalogram_machine_mappings.csv" ] ||
  "$exe" synth --output "$data" --train 200 --valid 30 --test 0 --seed 7 >/dev/null
cores=$(nproc)
settings=("fixed-$cores:--thread_split=false --threads $cores"
          "fixed-1:--thread_split=false --threads 1"
          "thread_split:--threads $cores")
for ((r = 1; r <= rounds; r++)); do
  for s in "${settings[@]}"; do
    name=${s%%:*}
    read -r -a flags <<<"${s#*:} ${EXTRA_FLAGS:-}"
    log=$out/$name.round$r.log
    rm -rf "$out/run"
    "$exe" train --dataset_path "$data" --output_dir "$out/run" --epochs "$epochs" --progress off "${flags[@]}" \
      >"$log" 2>&1 || { cat "$log"; exit 1; }
    echo "round $r: $name done"
  done
done
/usr/bin/python3 - "$out" "$rounds" "$epochs" "$cores" <<'PY'
import re, statistics, sys
out, rounds, epochs, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
names = [f"fixed-{cores}", "fixed-1", "thread_split"]
line = re.compile(r"^epoch\s+(\d+)/\d+ .* ([\d.]+) img/s\s+data wait\s+([\d.]+)%")
rows, choices = {}, []
for name in names:
    for r in range(1, rounds + 1):
        for text in open(f"{out}/{name}.round{r}.log"):
            m = line.match(text)
            if m:
                rows.setdefault((name, int(m[1])), []).append((float(m[2]), float(m[3])))
            elif text.startswith("thread split: epoch"):
                choices.append(f"round {r}: {text.strip()}")
best = {e: max(statistics.median(v[0] for v in rows[(n, e)]) for n in names) for e in range(1, epochs + 1)}
md = ["| setting | " + " | ".join(f"epoch {e}{' (cold)' if e == 1 else ''}: images/s (min-max), data wait, x best" for e in range(1, epochs + 1)) + " |",
      "|---" + "|---:" * epochs + "|"]
for n in names:
    cells = []
    for e in range(1, epochs + 1):
        v = rows[(n, e)]
        rate = statistics.median(x[0] for x in v)
        cells.append(f"{rate:.1f} ({min(x[0] for x in v):.1f}-{max(x[0] for x in v):.1f}), "
                     f"{statistics.median(x[1] for x in v):.0f} %, {rate / best[e]:.2f}")
    label = {f"fixed-{cores}": f"{cores} threads (fixed)", "fixed-1": "1 thread (fixed)",
             "thread_split": f"thread_split (from {cores})"}[n]
    md.append(f"| {label} | " + " | ".join(cells) + " |")
text = "\n".join(md) + "\n\nthread_split's choices:\n" + "\n".join(f"- {c}" for c in choices) + "\n"
open(f"{out}/thread_split.md", "w").write(text)
print(text)
print(f"written: {out}/thread_split.md")
PY
