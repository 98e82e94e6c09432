#!/usr/bin/env bash
# cmake --install, then find_package(mixtrain) from an outside project.
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/mixtrain/mixtrain.hpp"
cmake -S "$source_dir/consumer" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" -j 1 >/dev/null
"$work/build/consumer_recipe" describe --json --num_landmarks 7 | grep -q '"num_landmarks":7'
echo "an outside project built and ran a recipe against the installed mixtrain"
