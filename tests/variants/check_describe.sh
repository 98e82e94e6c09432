#!/usr/bin/env bash
# Two real variants of benchmarks/variants/aariz_variants.cpp (built here if
# they are not yet): their compiled policy lists, as `describe --json` reports
# them, differ exactly by the policies their axes switch on.
set -euo pipefail
build=$1
root=$build/variants/aariz_variants
base=aariz_variants__model-compact_unet__amp-off__channels_last-off__accumulate-1
both=aariz_variants__model-compact_unet__amp-bf16__channels_last-on__accumulate-1
nice cmake --build "$build" --target "$base" "$both" -j1 >/dev/null
policies() { "$root/$1/$1" describe --json | /usr/bin/python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["policies"]))'; }
a=$(policies "$base")
b=$(policies "$both")
echo "baseline: $a"
echo "amp-bf16 channels_last-on: $b"
[ "$a" = "console_log csv_log progress" ]
[ "$b" = "amp channels_last console_log csv_log progress" ]
"$root/$base/$base" --help | grep -q "needs mt::policy::amp"   # absent, so its flag is not offered
