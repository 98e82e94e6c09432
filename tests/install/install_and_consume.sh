#!/usr/bin/env bash
# cmake --install, then find_package(mixtrain) from an outside project that
# builds a recipe and the examples' checks (every header of recipes/examples:
# user policy, augmentation and data source), and runs the quick ones. The
# three example recipes themselves are one-line mains over those headers,
# built and run in the main tree; building them here again cost 3 minutes.
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
examples_dir=$(cd "$source_dir/../../recipes/examples" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/mixtrain/mixtrain.hpp"
# No build type (no optimisation): this checks that the package is found and
# its headers build a recipe, not its speed; Release took 174 s here, this 140 s.
cmake -S "$source_dir/consumer" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE= \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DMIXTRAIN_EXAMPLES_DIR="$examples_dir" >/dev/null
# Two compile jobs: three translation units that each parse LibTorch.
if ! cmake --build "$work/build" -j 2 --target consumer_recipe example_checks >"$work/build.log" 2>&1; then
  grep -E "error|FAILED" "$work/build.log" | head -40
  exit 1
fi
"$work/build/consumer_recipe" describe --json --num_landmarks 7 | grep -q '"num_landmarks":7'
# The examples' unit checks, against the installed headers.
ctest --test-dir "$work/build" -L unit --output-on-failure >"$work/ctest.log" 2>&1 || { cat "$work/ctest.log"; exit 1; }
grep -q "tests passed" "$work/ctest.log"
echo "an outside project built a recipe and the examples' checks against the installed mixtrain; the unit checks pass"
