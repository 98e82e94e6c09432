#!/usr/bin/env bash
# Build time of one recipe (issue 13): the compile commands of BUILD's
# build.ninja run by hand, one after the other, on a quiet machine:
#   torch-only   a TU that only includes <torch/torch.h>, no precompiled header
#   recipe       RECIPE's TU as the build compiles it (precompiled header,
#                cold code in mixtrain_cold: MIXTRAIN_SEPARATE_COMPILATION)
#   header-only  the same TU without MIXTRAIN_SEPARATE_COMPILATION (everything inline)
#   cold         mixtrain_cold's TU, compiled once per build for all recipes
#   train-only   RECIPE's TU with a main that only trains (no command line, no
#                evaluate/predict/bench): the floor of one TU holding the trainer
# Usage: benchmarks/build_time.sh [BUILD=build] [RECIPE=aariz_demo] [REPEATS=1]
#        PARTS="torch-only recipe" measures only those rows.
set -euo pipefail
build=$(cd "${1:-build}" && pwd) recipe=${2:-aariz_demo} repeats=${3:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The compile command of one object file, with its output redirected into $work.
command_of() {
  local cmd
  cmd=$(ninja -C "$build" -t commands "$1" | grep -F -- "-o $2 -c" | tail -1)
  [[ -n $cmd ]] || { echo "no compile command for $2 in $build/build.ninja" >&2; exit 1; }
  echo "$cmd" | sed -E "s# -MD -MT [^ ]+ -MF [^ ]+##; s# -o $2 # -o $work/out.o #"
}
recipe_cmd=$(command_of "recipes/$recipe" "recipes/CMakeFiles/$recipe.dir/$recipe.cpp.o")
cold_cmd=$(command_of recipes/libmixtrain_cold.a "recipes/CMakeFiles/mixtrain_cold.dir/__/mixtrain_cold.cpp.o")
header_only_cmd=${recipe_cmd//-DMIXTRAIN_SEPARATE_COMPILATION/}
echo '#include <torch/torch.h>' > "$work/torch_only.cpp"
# The recipe's source without its last line (its main), and a main that only trains.
{ sed '$d' "$(grep -o -- '-c [^ ]*$' <<<"$recipe_cmd" | cut -c4-)"
  echo 'int main() { mixtrain::trainer<recipe> t; return mixtrain::app::run_train(t); }'; } > "$work/train_only.cpp"
train_only_cmd=$(echo "$recipe_cmd" | sed -E "s# -c [^ ]+\$# -c $work/train_only.cpp#")
torch_cmd=$(echo "$recipe_cmd" | sed -E "s# -include [^ ]+cmake_pch.hxx##; s# -c [^ ]+\$# -c $work/torch_only.cpp#")
# Wall seconds and the compiler's CPU seconds (user + system): on a shared VM
# the wall clock also counts time the host gave to others, the CPU time less so.
seconds() { (cd "$build" && /usr/bin/time -o "$work/times" -f "%e %U %S" bash -c "$1") >/dev/null 2>&1 ||
              { echo "failed: $1" >&2; exit 1; }
            awk '{ printf "%.1f %.1f", $1, $2 + $3 }' "$work/times"; }
declare -A best best_cpu
# keep_smaller ARRAY KEY VALUE: ARRAY[KEY] becomes VALUE when unset or larger.
keep_smaller() { local -n table=$1
                 if [[ -z ${table[$2]:-} ]] || awk -v a="$3" -v b="${table[$2]}" 'BEGIN { exit !(a < b) }'; then table[$2]=$3; fi; }
parts=${PARTS:-torch-only recipe header-only cold}
for round in $(seq "$repeats"); do
  for name in $parts; do
    case $name in torch-only) c=$torch_cmd ;; recipe) c=$recipe_cmd ;; header-only) c=$header_only_cmd ;; cold) c=$cold_cmd ;; train-only) c=$train_only_cmd ;; esac
    read -r s cpu <<<"$(seconds "$c")"
    echo "round $round: $name ${s} s (cpu ${cpu} s)" >&2
    keep_smaller best "$name" "$s"
    keep_smaller best_cpu "$name" "$cpu"
  done
done
printf '| translation unit | wall s (best of %s) | x torch-only | cpu s (best) | x torch-only |\n|---|---:|---:|---:|---:|\n' "$repeats"
for name in $parts; do
  awk -v n="$name" -v s="${best[$name]}" -v t="${best[torch-only]}" -v c="${best_cpu[$name]}" -v tc="${best_cpu[torch-only]}" \
    'BEGIN { printf "| %s | %.1f | %.2f | %.1f | %.2f |\n", n, s, s / t, c, c / tc }'
done
