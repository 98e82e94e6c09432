#!/usr/bin/env bash
# kill -9 at random moments of a run that writes last.pt after every
# optimizer step (so many kills land inside a write): after every kill,
# last.pt loads through the library's loader, and the run resumes from it and
# finishes. This proves the write-then-rename (a reader never sees a torn
# file); the fsync calls that make the rename survive a power loss cannot be
# shown by killing a process.
#   kill9.sh <fault_recipe>
set -euo pipefail
exe=$1
. "$(dirname "$0")/common.sh"
make_data "$exe" 12 2
epochs=48 # enough that the kills, not the epochs, end the attempts on a fast machine
flags=(--dataset_path "$work/data" --image_size 128 128 --batch_size 2 --num_workers 1 --threads 1 --cache_mb 0
       --epochs "$epochs" --checkpoint_every_step --output_dir "$work/run")
kills=12
during_write=0
finished_early=0
RANDOM=7
for ((i = 1; i <= kills; i++)); do
  resume=()
  [ -f "$work/run/last.pt" ] && resume=(--resume "$work/run/last.pt")
  "$exe" train "${flags[@]}" "${resume[@]}" >"$work/attempt.log" 2>&1 &
  pid=$!
  wait_for "$work/attempt.log" "first optimizer step done|resuming" 60
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ls "$work/run"/*.partial >/dev/null 2>&1 && during_write=$((during_write + 1))
  [ -f "$work/run/last.pt" ] || continue
  "$exe" finite_weights "$work/run/last.pt" >"$work/load.log" 2>&1 || fail "last.pt does not load after kill $i"
  # A fast machine can finish all epochs between kills: the run is then done.
  grep -q "wrote .*metrics.json" "$work/attempt.log" && { finished_early=$i; break; }
done
rm -f "$work/run"/*.partial
"$exe" train "${flags[@]}" --resume "$work/run/last.pt" >"$work/final.log" 2>&1 || fail "resuming after the kills"
if ((finished_early > 0)); then
  grep -q "nothing to do: the checkpoint already finished $epochs epochs" "$work/final.log" ||
    fail "the run finished at attempt $finished_early but resuming its last.pt did not see that"
  kills=$finished_early
else
  grep -q "wrote .*metrics.json" "$work/final.log" || fail "the resumed run did not finish"
fi
((during_write > 0)) || fail "no kill landed inside a checkpoint write; the test proved nothing"
echo "$kills kills, $during_write inside a checkpoint write: last.pt loaded every time and the run finished"
