#!/usr/bin/env bash
# aariz_hrnet_w32 describe --json: 28.5M parameters for 17 outputs (paper's
# table, within 0.2 %), each further landmark adds 33 head parameters.
set -euo pipefail
recipe=$1
p17=$("$recipe" describe --json --num_landmarks 17 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["params"])')
p29=$("$recipe" describe --json --num_landmarks 29 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["params"])')
/usr/bin/python3 - "$p17" "$p29" <<'PY'
import sys
p17, p29 = int(sys.argv[1]), int(sys.argv[2])
assert abs(p17 - 28.5e6) / 28.5e6 <= 0.002, f"{p17} is not within 0.2% of 28.5M"
assert p29 - p17 == 12 * 33, f"12 more landmarks added {p29 - p17} parameters, expected {12 * 33}"
print(f"HRNet-W32: {p17} parameters for 17 landmarks, {p29} for 29")
PY
