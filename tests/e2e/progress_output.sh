#!/usr/bin/env bash
# Progress output of a real process: piped into a file it is plain lines every
# --progress_seconds (no carriage return anywhere), for training, validation
# and the evaluate command; --progress off prints none; on a terminal (a pty
# from `script`, where installed) the default draws a bar with carriage returns.
#   progress_output.sh <aariz_demo>
set -euo pipefail
recipe=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "$*"; exit 1; }
common=(--dataset_path "$work/data" --batch_size 2 --num_workers 1 --threads 1)
small=(--image_size 128 128)
"$recipe" synth --output "$work/data" --train 24 --valid 8 --test 2 --min_side 160 --max_side 240 --seed 5 >/dev/null

# 0.01 s: shorter than any batch here, so every pass prints (the timing itself is unit-tested).
"$recipe" train "${common[@]}" "${small[@]}" --output_dir "$work/run" --epochs 2 --progress_seconds 0.01 >"$work/train.log" 2>&1
grep -m 6 -E "^epoch .* images, " "$work/train.log"
if grep -q $'\r' "$work/train.log"; then fail "a carriage return in output that is not a terminal"; fi
grep -Eq '^epoch 1/2: [0-9]+/24 images, [0-9.]+ img/s, ETA [0-9]+ s, data wait [0-9]+%$' "$work/train.log" ||
  fail "no plain progress line for epoch 1's training"
grep -Eq '^epoch 2/2 valid: [0-9]+/8 images, ' "$work/train.log" || fail "no plain progress line for epoch 2's validation"
grep -q '^epoch   2/2  loss' "$work/train.log" || fail "console_log's epoch line is missing or garbled"

"$recipe" evaluate "${common[@]}" "${small[@]}" --output_dir "$work/run" --split valid --progress_seconds 0.01 >"$work/evaluate.log" 2>&1
grep -Eq '^evaluate: [0-9]+/8 images, ' "$work/evaluate.log" || { cat "$work/evaluate.log"; fail "no progress line from evaluate"; }
if grep -q $'\r' "$work/evaluate.log"; then fail "a carriage return in evaluate's piped output"; fi

"$recipe" train "${common[@]}" "${small[@]}" --output_dir "$work/off" --epochs 1 --progress off --progress_seconds 0.01 >"$work/off.log" 2>&1
if grep -Eq 'images, .* img/s' "$work/off.log"; then fail "--progress off still printed progress"; fi

if command -v script >/dev/null; then
  # A pty: auto becomes the bar (redrawn at most every 0.1 s, so the pass must last a while: 256 px).
  script -qec "'$recipe' train $(printf "'%s' " "${common[@]}") --image_size 256 256 --output_dir '$work/tty' --epochs 1" \
    /dev/null \
    >"$work/tty.log" 2>&1 </dev/null
  grep -q $'\repoch 1/1 \\[' "$work/tty.log" || { cat -A "$work/tty.log" | tail -5; fail "no bar on a terminal"; }
  grep -q 'epoch   1/1  loss' "$work/tty.log" || fail "console_log's epoch line is missing on a terminal"
fi
echo "progress output: plain lines when piped, none when off, a bar on a terminal"
