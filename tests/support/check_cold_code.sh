#!/usr/bin/env bash
# The cold code (MIXTRAIN_COLD functions) is compiled once: a recipe's object
# file refers to them without defining them, mixtrain_cold's archive defines
# them, and a target built header-only (test_results) defines its own inline
# copy; the recipe object defines no CLI11 symbol (the command line is cold
# code too). Usage: check_cold_code.sh RECIPE_OBJECT COLD_ARCHIVE HEADER_ONLY_OBJECT
set -euo pipefail
recipe_object=$1 cold_archive=$2 header_only_object=$3
for f in "$recipe_object" "$cold_archive" "$header_only_object"; do
  [[ -f $f ]] || { echo "missing $f (build the targets first)"; exit 1; }
done
# kind of symbol NAME in FILE: U (referenced only), T (defined), W (inline copy), - (absent)
# (awk reads all of nm's output: an early exit would fail the pipe under pipefail)
kind() { nm -C "$1" | awk -v name="$2" '!found && index($0, name) == 20 { kind = substr($0, 18, 1); found = 1 }
                                             END { print found ? kind : "-" }'; }
status=0
expect() {  # FILE NAME EXPECTED...
  local file=$1 name=$2; shift 2
  local got; got=$(kind "$file" "$name")
  for want in "$@"; do [[ $got == "$want" ]] && { echo "ok: $name is $got in $(basename "$file")"; return; }; done
  echo "FAIL: $name is '$got' in $file, expected one of: $*"; status=1
}
for name in "mixtrain::data::read_aariz_split(" "mixtrain::app::write_report_html("; do
  expect "$recipe_object" "$name" U
  expect "$cold_archive" "$name" T
done
expect "$header_only_object" "mixtrain::app::render_report_html[abi:cxx11](" W T
# The command line (core/flag_set.hpp): the recipe registers flags through
# flag_set's cold functions and defines nothing of CLI11's.
expect "$recipe_object" "mixtrain::flag_set::add_option(" U
expect "$cold_archive" "mixtrain::flag_set::add_option(" T
# (any defined name mentioning CLI::, vtables, typeinfo and std:: instantiations included)
cli_symbols=$(nm -C --defined-only "$recipe_object" | grep -c 'CLI::' || true)
if [[ $cli_symbols -eq 0 ]]; then echo "ok: no CLI11 symbol defined in $(basename "$recipe_object")"
else echo "FAIL: $(basename "$recipe_object") defines $cli_symbols CLI11 symbols, e.g.:"
     nm -C --defined-only "$recipe_object" | grep 'CLI::' | head -3; status=1; fi
exit $status
