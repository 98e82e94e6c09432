"""Writes <out>/seed.md and seed.json from bench_seed.sh's runs: the measured
ratios beside the seed guide's guesses."""
import json
import statistics
import sys
from pathlib import Path

out, step_size, repeats, data_repeats = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

step = {v["name"]: v for v in json.load(open(out / "step" / "results.json"))["variants"]}
def step_row(amp, cl):
    return step[f"hrnet_w32__mixed_precision-{amp}__channels_last-{cl}"]
base = step_row("no", "false")
rows = [
    ("the seed's baseline: fp32, no channels-last", base, "-"),
    ("channels-last alone", step_row("no", "force"), "1.10-1.20x (\"10-20 %\")"),
    ("bf16 autocast alone (--mixed_precision)", step_row("force", "false"), "not stated"),
    ("torch.compile (--use_compile)", None, "1.30-1.50x (\"30-50 %\")"),
    ("all together: bf16 + channels-last", step_row("force", "force"), "1.40-1.60x (\"overall 40-60 %\")"),
]
lines = [f"### Training step: HRNet-W32, {step_size}x{step_size}, batch 2 (random batches, {repeats} interleaved rounds)",
         "", "| change | seed's guess | step s, median (min-max) | measured speed-up |", "|---|---|---:|---:|"]
record = {"step_size": step_size, "repeats": repeats, "step": [], "data": []}
for label, v, guess in rows:
    if v is None:
        lines.append(f"| {label} | {guess} | n/a: no CPU counterpart (on CUDA: the cuda_graph policy, docs/policies.md) | n/a |")
        record["step"].append({"change": label, "guess": guess, "measured": None})
        continue
    if not v["ok"]:
        lines.append(f"| {label} | {guess} | failed: {v.get('error', '?')} | |")
        continue
    lo, hi = v["spread_step_s"]
    ratio = base["median_step_s"] / v["median_step_s"] if base["ok"] else float("nan")
    lines.append(f"| {label} | {guess} | {v['median_step_s']:.2f} ({lo:.2f}-{hi:.2f}) | {ratio:.2f}x |")
    record["step"].append({"change": label, "guess": guess, "median_step_s": v["median_step_s"], "speedup": ratio})

def data_runs(name):
    runs = []
    for r in range(data_repeats):
        text = (out / "data" / f"{name}.{r}.out").read_text().splitlines()
        runs.append(json.loads(next(l for l in reversed(text) if l.startswith("{"))))
    return runs
data_rows = [
    ("seed_before", "the seed's before: 4 workers x prefetch 2, batch 4", "-"),
    ("seed_after", "the seed's after: 8 workers x prefetch 1, batch 2", "\"use the CPU better\", less memory"),
    ("recipe_defaults", "aariz_hrnet_w32's defaults (2 workers, 2 GiB budget, decoded-image cache)", "-"),
]
before = statistics.median(r["images_per_s"] for r in data_runs("seed_before"))
lines += ["", f"### Input pipeline at 1024x1024, first-epoch (cold) decodes of 96 synthetic full-size images, timed from the pipeline's start ({data_repeats} interleaved rounds)",
          "", "| settings | seed's guess | images/s, median (min-max) | peak RSS MB | vs before |", "|---|---|---:|---:|---:|"]
for name, label, guess in data_rows:
    runs = data_runs(name)
    ips = [r["images_per_s"] for r in runs]
    med = statistics.median(ips)
    rss = max(r["peak_rss_mb"] for r in runs)
    lines.append(f"| {label} | {guess} | {med:.1f} ({min(ips):.1f}-{max(ips):.1f}) | {rss:.0f} | {med / before:.2f}x |")
    record["data"].append({"settings": label, "images_per_s": med, "peak_rss_mb": rss, "vs_before": med / before,
                           "num_workers": runs[0]["num_workers"], "prefetch_batches": runs[0]["prefetch_batches"]})
(out / "seed.md").write_text("\n".join(lines) + "\n")
(out / "seed.json").write_text(json.dumps(record, indent=2) + "\n")
print("\n".join(lines))
print(f"\nwrote {out / 'seed.md'} and {out / 'seed.json'}")
