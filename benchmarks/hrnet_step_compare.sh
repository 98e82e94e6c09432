#!/usr/bin/env bash
# One full HRNet-W32 training step (forward, heatmap MSE, backward, AdamW) in
# mixtrain and in PyTorch, side by side and interleaved, for three
# configurations; prints each median and the ratio mixtrain / PyTorch.
# usage: benchmarks/hrnet_step_compare.sh BUILD_DIR [repeats]
set -euo pipefail
build=${1:-build}
repeats=${2:-2}
recipe="$build/recipes/aariz_hrnet_w32"
peer="$(dirname "$0")/hrnet_step_peer.py"
common=(--image_size 256 256 --batch_size 2 --steps 5 --warmup 1)
declare -A cpp_flags=([fp32]="--channels_last=false" [fp32_channels_last]="--channels_last=force"
                      [bf16_channels_last]="--mixed_precision=force --channels_last=force")
declare -A py_flags=([fp32]="" [fp32_channels_last]="--channels_last" [bf16_channels_last]="--bf16 --channels_last")
median() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["median_step_s"])'; }
for config in fp32 fp32_channels_last bf16_channels_last; do
  cpp=(); py=()
  for ((r = 0; r < repeats; r++)); do
    # shellcheck disable=SC2086
    cpp+=("$("$recipe" bench step "${common[@]}" --num_landmarks 29 --threads 2 --use_ema=false ${cpp_flags[$config]} 2>/dev/null | median)")
    # shellcheck disable=SC2086
    py+=("$(/usr/bin/python3 "$peer" "${common[@]}" --num_landmarks 29 --threads 2 ${py_flags[$config]} 2>/dev/null | median)")
  done
  /usr/bin/python3 - "$config" "${cpp[*]}" "${py[*]}" <<'PY'
import statistics, sys
config, cpp, py = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
c, p = statistics.median(cpp), statistics.median(py)
print(f"{config:>20}: mixtrain {c:.3f} s/step, PyTorch {p:.3f} s/step, ratio {c / p:.3f}  (runs: {cpp} vs {py})")
PY
done
