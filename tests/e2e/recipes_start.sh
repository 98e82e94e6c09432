#!/usr/bin/env bash
# Every recipe under recipes/ starts with its compiled defaults on full-size
# synthetic cephalograms (1800-2400 px): training reaches its first optimizer
# step with a finite loss within a stated time, then SIGTERM stops it cleanly
# (status 0, recovery.pt). The HRNet-W32 recipe gets the seed script's own
# command line (with --epochs 1 on 4 images).
#   recipes_start.sh <recipes bin dir> <examples bin dir>
set -euo pipefail
# ctest runs another entry beside this one: spinning OpenMP threads would
# then make each step several times slower (docs/benchmarks.md).
export OMP_WAIT_POLICY=PASSIVE
bin=$1
examples=$2
work=$(mktemp -d)
trap 'jobs -p | xargs -r kill -9 2>/dev/null; rm -rf "$work"' EXIT
"$examples/example_checks" --write-dataset "$work/data" 4 2 1800 2400

seed_flags=(--image_size 1024 1024 --batch_size 2 --gradient_accumulation_steps 4 --epochs 1 --lr 3e-4
            --warmup_epochs 10 --mixed_precision --use_ema --num_workers 8 --use_compile --channels_last
            --early_stopping --patience 20 --save_frequency 5)

# starts <name> <budget s> <exe> [flags...]; the dataset is $data (Aariz layout unless set).
data=$work/data
starts() {
  local name=$1 budget=$2 exe=$3
  shift 3
  local log="$work/$name.log" start=$SECONDS
  "$exe" train --dataset_path "$data" --output_dir "$work/$name" "$@" >"$log" 2>&1 &
  local pid=$!
  until grep -q "first optimizer step done" "$log"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS - start > budget)); then
      cat "$log"
      echo "FAILED: $name did not reach its first optimizer step within $budget s"
      exit 1
    fi
    sleep 0.2
  done
  local took=$((SECONDS - start))
  local loss
  loss=$(sed -n 's/^first optimizer step done: loss \([^,]*\),.*/\1/p' "$log")
  python3 -c "import math, sys; sys.exit(0 if math.isfinite(float('$loss')) else 1)" ||
    { cat "$log"; echo "FAILED: $name: first loss $loss"; exit 1; }
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  ((status == 0)) && [ -f "$work/$name/recovery.pt" ] ||
    { cat "$log"; echo "FAILED: $name: SIGTERM gave status $status"; exit 1; }
  echo "$name: first optimizer step in ${took} s (budget ${budget} s), loss $loss; SIGTERM: status 0, recovery.pt"
}

starts aariz_demo 120 "$bin/aariz_demo"
starts aariz_full 180 "$bin/aariz_full"
starts aariz_cvm 120 "$bin/aariz_cvm"
starts aariz_multitask 120 "$bin/aariz_multitask"
starts example_freeze_backbone 120 "$examples/example_freeze_backbone"
starts example_sine_warp 120 "$examples/example_sine_warp"
starts example_csv_landmarks 120 "$examples/example_csv_landmarks"
# HRNet-W32 at 1024x1024: about 20 s per micro-batch of 2 on this CPU, two
# micro-batches in the first (short) window, plus full-size decoding.
starts aariz_hrnet_w32 420 "$bin/aariz_hrnet_w32" "${seed_flags[@]}"
# Its 2 GiB cache was shrunk into the 2 GiB budget, and said so, instead of a refusal.
grep -q "decoded-image cache: 2048 MiB asked, [0-9]* MiB fit in --memory_budget_mb 2048" "$work/aariz_hrnet_w32.log" ||
  { cat "$work/aariz_hrnet_w32.log"; echo "FAILED: no line about the cache fitted into the budget"; exit 1; }

# The other layouts, each written at full size by its recipe's synth: ISBI's
# 1935x2400, labelme (and labelme over DICOM where DCMTK is built in).
data=$work/isbi
"$bin/isbi_demo" synth --output "$data" --train 4 --valid 2 --test 0 --min_side 1935 --max_side 2400 >/dev/null
starts isbi_demo 120 "$bin/isbi_demo"
data=$work/labelme
"$bin/labelme_demo" synth --output "$data" --train 4 --valid 2 --test 0 --min_side 1800 --max_side 2400 >/dev/null
starts labelme_demo 120 "$bin/labelme_demo"
if [ -x "$bin/labelme_dicom" ]; then
  data=$work/labelme_dicom
  "$bin/labelme_dicom" synth --output "$data" --train 4 --valid 2 --test 0 --min_side 1800 --max_side 2400 >/dev/null
  starts labelme_dicom 120 "$bin/labelme_dicom"
fi
