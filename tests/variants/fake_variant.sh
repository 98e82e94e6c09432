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
  *) echo "unexpected arguments: $*" >&2; exit 2 ;;
esac
