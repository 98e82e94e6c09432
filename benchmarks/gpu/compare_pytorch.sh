#!/usr/bin/env bash
# mixtrain's CUDA training step (gpu_step_bench) beside PyTorch's (hrnet_step_peer.py, the same
# HRNet-W32, loss and AdamW) on one GPU, alternating per configuration so that drift hits both.
# Each side runs with two AdamW implementations: mixtrain's foreach_adamw (the library's) and
# LibTorch's per-tensor AdamW; PyTorch's default (foreach on CUDA) and its for-loop one.
# Run on the GPU machine after scripts/gpu-check has built build-gpu (docs/benchmarks.md, "GPU check").
#
#   benchmarks/gpu/compare_pytorch.sh [build-dir] [out.jsonl]
# Environment: DEVICE (cuda), SIZE (1024), PYTHON (python3), for a quick check on a CPU.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build-gpu}
out=${2:-$build/compare-pytorch.jsonl}
bench=$build/benchmarks/gpu/gpu_step_bench
[[ -x $bench ]] || { echo "compare_pytorch: no $bench: run scripts/gpu-check first" >&2; exit 1; }
: >"$out"
device=${DEVICE:-cuda}
size=${SIZE:-1024}
python=${PYTHON:-python3}
# batch  mixtrain variant       PyTorch flags
configs=(
  "2  fp32                -"
  "8  bf16_channels_last  --bf16 --channels_last"
)
for c in "${configs[@]}"; do
  read -r batch variant flags <<<"$c"
  [[ $flags == - ]] && flags=""
  for adamw in foreach per_tensor; do
    timeout 120 "$bench" --device "$device" --image_size "$size" --warmup 3 --steps 10 --batch_size "$batch" \
      --variants "$variant" --adamw "$adamw" --json | sed 's/^{/{"side":"mixtrain",/' >>"$out" ||
      echo "compare_pytorch: mixtrain $variant ($adamw AdamW) batch $batch failed" >&2
  done
  for adamw in default for_loop; do
    # shellcheck disable=SC2086  # flags is a word list
    timeout 120 "$python" "$repo/benchmarks/hrnet_step_peer.py" --device "$device" --image_size "$size" "$size" \
      --warmup 3 --steps 10 --batch_size "$batch" --num_landmarks 29 --adamw "$adamw" $flags 2>/dev/null | tail -1 |
      sed "s/^{/{\"side\":\"pytorch\",\"variant\":\"$variant\",/" >>"$out" ||
      echo "compare_pytorch: PyTorch $variant ($adamw AdamW) batch $batch failed" >&2
  done
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'side':<10}{'variant':<22}{'batch':>6}  {'AdamW':<10}{'images/s':>10}{'peak GiB':>10}")
for r in rows:
    batch = r.get("batch_size") or r["config"]["batch_size"]
    adamw = r["config"]["adamw"] if "config" in r else r["adamw"]
    rate = r.get("images_per_second") or batch / r["median_step_s"]
    peak = r.get("peak_allocated_bytes")
    peak = "n/a" if peak is None else f"{peak / 2**30:.2f}"
    print(f"{r['side']:<10}{r['variant']:<22}{batch:>6}  {adamw:<10}{rate:>10.2f}{peak:>10}")
PY
