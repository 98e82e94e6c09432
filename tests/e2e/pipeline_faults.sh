#!/usr/bin/env bash
# Data faults in a real training process, one mode per ctest entry:
#   vanish      two training images are deleted after the first epoch
#   unreadable  one is truncated to 8 bytes (and, unless root, one is chmod 000:
#               root reads it anyway)
#   corrupt     two PNGs keep their size, header and end chunk but their
#               compressed data becomes garbage: the decoder itself fails,
#               inside worker threads (4 of them)
# The decoding happens in the pipeline's worker threads, so each mode checks
# that a worker's exception reaches the main thread. Without --skip_bad_samples
# the run must fail naming a damaged file; with it, it must finish and report
# how many samples it skipped. Every run is under `timeout`: a hang fails.
# Usage: pipeline_faults.sh <recipe executable> vanish|unreadable|corrupt
set -euo pipefail
recipe=$1
mode=$2
limit=120
work=$(mktemp -d)
cleanup() {
  chmod -R u+rwX "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL ($mode): $*" >&2
  exit 1
}

timeout "$limit" "$recipe" synth --output "$work/pristine" --train 12 --valid 4 --test 0 --min_side 300 --max_side 400 \
  >/dev/null

workers=2
[[ $mode == corrupt ]] && workers=4

# The damaged files of one copy of the data, chosen from the pristine tree.
damaged_names() {
  local all
  mapfile -t all < <(cd "$work/pristine/train/Cephalograms" && ls | sort)
  case $mode in
    vanish) echo "${all[1]}"; echo "${all[6]}" ;;
    unreadable) echo "${all[2]}"; [[ $EUID -ne 0 ]] && echo "${all[7]}" || true ;;
    corrupt) (cd "$work/pristine/train/Cephalograms" && ls ./*.png | sed 's#^\./##' | sort | head -2) ;;
    *) fail "unknown mode (vanish, unreadable or corrupt)" ;;
  esac
}
mapfile -t names < <(damaged_names)
[[ ${#names[@]} -ge 1 ]] || fail "no image to damage"
[[ $mode != corrupt || ${#names[@]} -eq 2 ]] || fail "the synthetic data has fewer than two PNGs"

damage() {  # $1: the data folder of the run
  local dir=$1/train/Cephalograms file size
  case $mode in
    vanish) for n in "${names[@]}"; do rm "$dir/$n"; done ;;
    unreadable)
      truncate -s 8 "$dir/${names[0]}"
      [[ ${#names[@]} -lt 2 ]] || chmod 000 "$dir/${names[1]}"
      ;;
    corrupt)
      for n in "${names[@]}"; do
        file=$dir/$n
        size=$(stat -c %s "$file")
        # Everything between the first 64 bytes (signature, IHDR) and the last
        # 64 (IEND) becomes 0xFF: the file still looks complete.
        head -c $((size - 128)) /dev/zero | tr '\0' '\377' | dd of="$file" bs=1 seek=64 conv=notrunc status=none
      done
      ;;
  esac
}

# Trains on a fresh copy of the data, damages it once the first epoch is done
# (first checkpoint or "epoch" line), and waits. Sets $log and $status.
run() {  # $1: name, then extra flags
  local name=$1 data=$work/$1-data out=$work/$1 pid started i
  shift
  cp -r "$work/pristine" "$data"
  log=$work/$name.log
  started=$SECONDS
  # 8 epochs of about 0.3 s here: the last passes start long after the damage.
  timeout "$limit" "$recipe" train --epochs 8 --image_size 128 128 --batch_size 2 --num_workers "$workers" \
    --cache_mb 0 --output_dir "$out" --dataset_path "$data" "$@" >"$log" 2>&1 &
  pid=$!
  for ((i = 0; i < limit * 20; ++i)); do
    [[ -e $out/last.pt ]] && break
    grep -q '^epoch' "$log" && break
    kill -0 "$pid" 2>/dev/null || fail "$name: the run ended before its first epoch: $(tail -5 "$log")"
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null || fail "$name: the run ended before the fault could be made"
  damage "$data"
  status=0
  wait "$pid" || status=$?
  echo "$mode/$name: status $status after $((SECONDS - started)) s"
  [[ $status -ne 124 ]] || fail "$name: no exit within $limit s (a hang?): $(tail -5 "$log")"
}

paths_pattern=$(printf '%s|' "${names[@]}")
paths_pattern=${paths_pattern%|}

run stops
[[ $status -ne 0 ]] || fail "stops: the run succeeded on damaged data"
grep -E "^error: .*/train/Cephalograms/($paths_pattern): " "$work/stops.log" ||
  fail "stops: no error naming a damaged file ($paths_pattern): $(tail -5 "$work/stops.log")"

run skips --skip_bad_samples
[[ $status -eq 0 ]] || fail "skips: status $status with --skip_bad_samples: $(tail -5 "$work/skips.log")"
grep -Eq "^warning: skipped bad sample: .*/train/Cephalograms/($paths_pattern): " "$work/skips.log" ||
  fail "skips: no warning naming a damaged file"
# The last pass ran wholly after the damage: all damaged files are counted.
last=$(grep -E '^warning: [0-9]+ of 12 samples skipped' "$work/skips.log" | tail -1 || true)
echo "$last"
last_count=$(cut -d' ' -f2 <<<"$last")
[[ ${last_count:-0} -eq ${#names[@]} ]] ||
  fail "skips: the last pass reported ${last_count:-no} skipped samples, expected ${#names[@]}"
echo "$mode: ok (damaged: ${names[*]})"
