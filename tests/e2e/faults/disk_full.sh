#!/usr/bin/env bash
# A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored so the write fails with
# EFBIG like a full disk) smaller than a checkpoint: the run fails with an
# error naming last.pt, the previous last.pt is byte-for-byte intact, no
# .partial file is left, metrics.csv holds whole rows only, and a resume
# without the limit finishes with each epoch once in metrics.csv.
#   disk_full.sh <fault_recipe>
set -euo pipefail
exe=$1
. "$(dirname "$0")/common.sh"
make_data "$exe" 6 2
flags=(--dataset_path "$work/data" --image_size 128 128 --batch_size 2 --num_workers 1 --threads 1 --cache_mb 0
       --output_dir "$work/run")
"$exe" train "${flags[@]}" --epochs 1 >"$work/first.log" 2>&1 || fail "the first epoch"
before=$(sha256sum <"$work/run/last.pt")
limit_kib=$(($(stat -c %s "$work/run/last.pt") / 1024 / 2))
((limit_kib > 1024)) || fail "checkpoint too small for this test"
status=0
(
  ulimit -f "$limit_kib"
  trap '' XFSZ
  exec "$exe" train "${flags[@]}" --epochs 2 --resume "$work/run/last.pt"
) >"$work/limited.log" 2>&1 || status=$?
((status != 0)) || fail "the run under a file-size limit reported success"
grep -q "cannot write $work/run/last.pt: .*File too large.*the previous last.pt is kept" "$work/limited.log" ||
  fail "the error does not name last.pt and the reason"
[ "$(sha256sum <"$work/run/last.pt")" = "$before" ] || fail "last.pt changed"
! ls "$work/run"/*.partial >/dev/null 2>&1 || fail "a .partial file was left"
python3 - "$work/run/metrics.csv" <<'PY' || fail "metrics.csv has a partial row"
import sys
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "last row has no newline"
lines = text.splitlines()
assert all(line.count(",") == lines[0].count(",") for line in lines), lines
PY
"$exe" train "${flags[@]}" --epochs 2 --resume "$work/run/last.pt" >"$work/resumed.log" 2>&1 || fail "resuming without the limit"
[ "$(cut -d, -f1 "$work/run/metrics.csv" | tr '\n' ' ')" = "epoch 1 2 " ] || fail "metrics.csv epochs: $(cut -d, -f1 "$work/run/metrics.csv" | tr '\n' ' ')"
echo "file-size limit: error names last.pt, previous last.pt intact, whole rows only, resume finished"
