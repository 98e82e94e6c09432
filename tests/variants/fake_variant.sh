#!/bin/sh
# A stand-in variant executable for mixtrain-bench's tests; its behaviour comes
# from its file name (symlinks): *fast* 0.1 s/step, *slow* 0.2 s/step, *broken*
# fails every run, *nojson* exits 0 without the JSON line.
name=$(basename "$0")
case "$1 $name" in
  "describe "*broken*) echo '{"params": 5, "policies": [{"name": "console_log"}]}' ;;
  "describe "*) echo '{"params": 1234, "policies": [{"name": "amp"}, {"name": "console_log"}, {"name": "progress"}]}' ;;
  "bench "*broken*) echo "fake failure: out of memory in step 1" >&2; exit 1 ;;
  "bench "*nojson*) echo "bench step: nothing to parse" ;;
  "bench "*fast*)
    echo "bench step: fake"
    echo '{"bench": "step", "batch_size": 8, "step_s": [0.09, 0.1, 0.11, 0.1, 0.3], "median_step_s": 0.1, "peak_rss_mb": 300}' ;;
  "bench "*slow*)
    echo '{"bench": "step", "batch_size": 8, "step_s": [0.2, 0.2, 0.2, 0.2, 0.2], "median_step_s": 0.2, "peak_rss_mb": 500}' ;;
  "train "*broken*) echo "fake failure in training" >&2; exit 1 ;;
  "train "*)  # an epoch row per 0.2 s until SIGTERM, as a real run stops
    while [ $# -gt 0 ] && [ "$1" != --output_dir ]; do shift; done
    mkdir -p "$2"
    echo "epoch,train_loss,val_mre,lr" > "$2/metrics.csv"
    trap 'exit 0' TERM
    for e in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
      echo "$e,0.5,$(( 100 - e )).5,0.001" >> "$2/metrics.csv"
      sleep 0.2
    done
    sleep 60 & wait ;;
  *) echo "unexpected arguments: $*" >&2; exit 2 ;;
esac
