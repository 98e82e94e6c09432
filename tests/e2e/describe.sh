#!/usr/bin/env bash
# `describe --json` prints one JSON object with the recipe's facts.
set -euo pipefail
recipe=$1
"$recipe" describe --json --num_landmarks 19 | /usr/bin/python3 -c '
import json, sys
lines = sys.stdin.read().strip().splitlines()
assert len(lines) == 1, "describe --json must print one line"
d = json.loads(lines[0])
assert d["task"]["num_landmarks"] == 19 and len(d["task"]["landmarks"]) == 19, d["task"]
assert d["model"] and d["params"] > 1000, d
assert isinstance(d["policies"], list)
assert d["recipe"] == "aariz_demo", d["recipe"]
print("describe ok:", d["model"], d["params"], "params")'
"$recipe" --help | grep -E -- "--epochs.*40" >/dev/null || { echo "--help must show the compiled default of --epochs"; exit 1; }
