#!/usr/bin/env bash
# mixtrain_add_variants on a tiny project: 2x2x2 axes less two EXCLUDE rules
# give 5 executables, each compiled with its own values, a manifest naming them
# with their axes and baseline, and build times written by the launcher.
set -euo pipefail
cmake_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake -S "$here/generation" -B "$work" -G Ninja -DMIXTRAIN_CMAKE_DIR="$cmake_dir" >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work" --target tiny >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
/usr/bin/python3 - "$work/variants/tiny/manifest.json" <<'PY'
import json, os, subprocess, sys
m = json.load(open(sys.argv[1]))
names = [v["name"] for v in m["variants"]]
expected = {"tiny__amp-off__width-8__channels_last-off", "tiny__amp-bf16__width-8__channels_last-off",
            "tiny__amp-off__width-16__channels_last-off", "tiny__amp-bf16__width-16__channels_last-off",
            "tiny__amp-off__width-8__channels_last-on"}
assert set(names) == expected and len(names) == 5, names
assert m["baseline"] == "tiny__amp-off__width-8__channels_last-off", m["baseline"]
assert m["axes"] == {"amp": ["off", "bf16"], "width": ["8", "16"], "channels_last": ["off", "on"]}, m["axes"]
for v in m["variants"]:
    out = subprocess.run([v["executable"]], capture_output=True, text=True, check=True).stdout.split()
    a = v["axes"]
    assert out == [v["name"], "amp=" + a["amp"], "width=" + a["width"], "channels_last=" + a["channels_last"]], out
    for key in ("compile_seconds_file", "link_seconds_file"):
        assert float(open(v[key]).read()) >= 0, (v["name"], key)
print("generation: 5 variants, each with its own values and build times")
PY
