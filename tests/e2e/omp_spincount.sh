#!/usr/bin/env bash
# The OpenMP spin count of a recipe (app/openmp_env.hpp): measured once per
# machine and cached, applied by re-executing the same process (same PID), a
# user's environment respected, the flag winning over both.
set -euo pipefail
demo=$1
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
pid=
export MIXTRAIN_CACHE_DIR=$work/cache
spin_of() { "$@" bench step --image_size 64 64 --batch_size 2 --steps 1 --warmup 0 2>"$work/err" | tail -n 1 |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["omp_spincount"])'; }

# No flag, no environment: measured (the three candidates, quiet and loaded) and cached.
env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY "$demo" describe --json >/dev/null 2>"$work/first"
grep -q "measuring the spin count" "$work/first" || { cat "$work/first"; exit 1; }
cache=$(ls "$work"/cache/omp-spincount-*.json)
chosen=$(/usr/bin/python3 - "$cache" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
assert r["key"]["cpu"] == cpu and r["key"]["recipe"] == "aariz_demo", r["key"]
m = r["measured"]
assert [e["omp_spincount"] for e in m] == ["libgomp", "1000", "0"], m
assert all(e["quiet_step_s"] > 0 and e["loaded_step_s"] > 0 for e in m), m
# The rule, again: within 15 % of the best quiet step, the shortest loaded step.
best = min(e["quiet_step_s"] for e in m)
ok = [e for e in m if e["quiet_step_s"] <= 1.15 * best]
expected = min(ok, key=lambda e: e["loaded_step_s"])["omp_spincount"]
assert r["omp_spincount"] == expected, (r["omp_spincount"], expected, m)
print(expected)
PY
)
# The second start reads the cache and applies it.
[ "$(spin_of env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY "$demo")" = "$chosen" ]
! grep -q "measuring" "$work/err"
# A damaged cache file is measured again, not trusted.
echo "{not json" > "$cache"
env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY "$demo" describe --json >/dev/null 2>"$work/again"
grep -q "measuring the spin count" "$work/again"

# The user's environment is respected; the flag wins over it.
[ "$(spin_of env GOMP_SPINCOUNT=77 "$demo")" = 77 ]
[ "$(spin_of env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=PASSIVE "$demo")" = "policy PASSIVE" ]
[ "$(spin_of env GOMP_SPINCOUNT=77 "$demo" --omp_spincount 0)" = 0 ]
[ "$(spin_of env GOMP_SPINCOUNT=77 "$demo" --omp_spincount=libgomp)" = libgomp ]
"$demo" bench step --omp_spincount fast 2>"$work/bad" && exit 1
grep -q -- "--omp_spincount" "$work/bad"

# The re-execution keeps the PID: signals sent to the started process reach the run.
GOMP_SPINCOUNT=77 "$demo" bench step --omp_spincount 3 --image_size 64 64 --batch_size 2 --steps 100000 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do
  tr '\0' '\n' < /proc/$pid/environ 2>/dev/null | grep -qx "GOMP_SPINCOUNT=3" && break
  sleep 0.1
done
tr '\0' '\n' < /proc/$pid/environ | grep -qx "GOMP_SPINCOUNT=3"
kill -TERM $pid
wait $pid || true
echo "omp spin count: measured and cached ($chosen), environment respected, flag wins, same PID"
