#!/usr/bin/env bash
# The data-parallel recipe end to end with --nproc 2 (two local ranks, Gloo
# over the loopback): one epoch trains, rank 0 alone logs and writes the run's
# files, the other rank's output stays silent; --sync_batch_norm synchronises
# every BatchNorm layer of the recipe's model and says so; a resume with another world
# size is refused, naming it; --multi_gpu says there is no GPU.
#   distributed_nproc.sh <aariz_distributed>
set -euo pipefail
recipe=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$recipe" synth --output "$work/data" --train 8 --valid 4 --test 0 --min_side 96 --max_side 160 --seed 3 >/dev/null
"$recipe" train --nproc 2 --distributed_timeout_s 60 --dataset_path "$work/data" --output_dir "$work/run" --epochs 1 \
  --image_size 64 64 --batch_size 2 --num_workers 1 --cache_mb 0 >"$work/train.log" 2>&1 ||
  { cat "$work/train.log"; echo "train --nproc 2 failed"; exit 1; }
cat "$work/train.log"
grep -q "^distributed: 2 ranks (Gloo)" "$work/train.log" || { echo "rank 0 did not report 2 ranks"; exit 1; }
grep -q "gradient all-reduce .* ms per optimizer step on average after backward (2 steps, 2 ranks)" "$work/train.log" ||
  { echo "expected 2 steps per epoch (8 images, 2 ranks x batch 2)"; exit 1; }
[ "$(grep -c "^epoch   1/1" "$work/train.log")" -eq 1 ] || { echo "the epoch line was not printed exactly once"; exit 1; }
for f in last.pt metrics.csv metrics.json config.json report.html; do
  [ -s "$work/run/$f" ] || { echo "rank 0 wrote no $f"; exit 1; }
done
[ "$(wc -l <"$work/run/metrics.csv")" -eq 2 ] || { echo "metrics.csv should hold a header and one row"; exit 1; }
# Synchronised BatchNorm from the command line: every layer of compact_unet.
"$recipe" train --nproc 2 --distributed_timeout_s 60 --dataset_path "$work/data" --output_dir "$work/sync" --epochs 1 \
  --image_size 64 64 --batch_size 2 --num_workers 1 --cache_mb 0 --sync_batch_norm >"$work/sync.log" 2>&1 ||
  { cat "$work/sync.log"; echo "train --nproc 2 --sync_batch_norm failed"; exit 1; }
grep -q "^distributed: 16 BatchNorm layers normalise over all 2 ranks' micro-batches" "$work/sync.log" ||
  { cat "$work/sync.log"; echo "--sync_batch_norm did not report 16 synchronised layers"; exit 1; }
grep -Eq '"sync_batch_norm": ?true' "$work/sync/config.json" ||
  { echo "config.json does not record sync_batch_norm"; exit 1; }
grep -q "normalise over all" "$work/train.log" && { echo "BatchNorm was synchronised without the flag"; exit 1; }
# Another world size cannot continue the shards of this one.
if "$recipe" train --dataset_path "$work/data" --output_dir "$work/run" --epochs 2 --image_size 64 64 --batch_size 2 \
  --num_workers 1 --cache_mb 0 --resume "$work/run/last.pt" >"$work/resume.log" 2>&1; then
  cat "$work/resume.log"; echo "a 1-process resume of a 2-rank run was accepted"; exit 1
fi
grep -q "world_size: checkpoint has 2, this run has 1" "$work/resume.log" ||
  { cat "$work/resume.log"; echo "the refusal did not name the world size"; exit 1; }
if "$recipe" train --multi_gpu --dataset_path "$work/data" >"$work/gpu.log" 2>&1; then
  echo "--multi_gpu was accepted on a machine without a GPU"; exit 1
fi
grep -q "no GPU is visible" "$work/gpu.log" || { cat "$work/gpu.log"; exit 1; }
echo "ok"
