#!/usr/bin/env bash
# An --output_dir that cannot be created, written or filled is refused before
# any training, naming the flag, the folder and the reason.
#   output_dir.sh <fault_recipe>
set -euo pipefail
exe=$1
. "$(dirname "$0")/common.sh"
make_data "$exe" 4 2
flags=(--dataset_path "$work/data" --image_size 128 128 --batch_size 2 --num_workers 1 --threads 1 --epochs 1)

# refused <log> <regex>: the run failed with the message and trained nothing.
refused() {
  grep -Eq -- "$2" "$1" || fail "expected '$2' in $1"
  ! grep -q "first optimizer step" "$1" || fail "training started despite an unusable folder"
}

touch "$work/a_file"
status=0
"$exe" train "${flags[@]}" --output_dir "$work/a_file/run" >"$work/not_a_folder.log" 2>&1 || status=$?
((status != 0)) || fail "a folder under a file was accepted"
refused "$work/not_a_folder.log" "--output_dir $work/a_file/run: cannot create the folder \(Not a directory\)"

status=0
(
  ulimit -f 512  # KiB: less than the 1 MiB probe, like a full disk
  trap '' XFSZ
  exec "$exe" train "${flags[@]}" --output_dir "$work/full"
) >"$work/full.log" 2>&1 || status=$?
((status != 0)) || fail "a folder that takes no more bytes was accepted"
refused "$work/full.log" "--output_dir $work/full: cannot write there \(File too large\)"
[ ! -e "$work/full/metrics.csv" ] || fail "metrics.csv was started"

if [ "$(id -u)" -ne 0 ]; then  # root writes anywhere
  mkdir "$work/read_only" && chmod 555 "$work/read_only"
  status=0
  "$exe" train "${flags[@]}" --output_dir "$work/read_only" >"$work/read_only.log" 2>&1 || status=$?
  ((status != 0)) || fail "a read-only folder was accepted"
  refused "$work/read_only.log" "--output_dir $work/read_only: cannot write there \(Permission denied\)"
  echo "read-only folder refused"
fi
echo "unusable output folders refused before training"
