#!/usr/bin/env bash
# try_broken_header.sh NAME TEST_SOURCE CATCH_SPEC HEADER PYTHON_EDIT
#
# Shows that a data-layer test fails when the feature it checks is broken,
# without touching include/: copies include/ to /tmp/mixtrain-broken-NAME,
# applies PYTHON_EDIT to the copy of HEADER (Python code that edits the string
# `s`, the header's text), compiles TEST_SOURCE (tests/data/*.cpp, which needs
# no LibTorch) against the copy with Catch's main, and runs CATCH_SPEC with
# `-w NoTests`. Prints the exit status and the failures. Run from anywhere,
# after the build tree exists (it links build/tests/libmixtrain_catch_main.a).
# docs/testing.md lists the edits used to show each check can fail, e.g.
#   tests/support/try_broken_header.sh deflate tests/data/test_png.cpp "png: the libdeflate*" \
#     mixtrain/data/image_file.hpp 's = s.replace("\"libdeflate.so.0\"", "\"libdeflate.so.missing\"")'
set -uo pipefail
if [ $# -ne 5 ]; then sed -n '2,16p' "$0"; exit 2; fi
name=$1 source=$2 spec=$3 header=$4 edit=$5
repo=$(cd "$(dirname "$0")/../.." && pwd)
root=/tmp/mixtrain-broken-$name
rm -rf "$root" && mkdir -p "$root" && cp -r "$repo/include" "$root/include"
HEADER="$root/include/$header" EDIT="$edit" /usr/bin/python3 -c '
import os
path = os.environ["HEADER"]
s = original = open(path).read()
exec(os.environ["EDIT"])
if s == original:
    raise SystemExit("the edit changed nothing in " + path)
open(path, "w").write(s)' || exit 3
# shellcheck disable=SC2046
c++ -std=c++20 -O1 -w -DFMT_SHARED -I"$root/include" $(pkg-config --cflags opencv4) -o "$root/test" \
  "$repo/$source" "$repo/build/tests/libmixtrain_catch_main.a" \
  -lopencv_imgcodecs -lopencv_imgproc -lopencv_core -lfmt -lpthread -ldl || exit 3
cd "$root" || exit 3
timeout 300 ./test "$spec" -w NoTests > out.log 2>&1
status=$?
echo "exit status $status of: $source \"$spec\" with $header edited (log: $root/out.log)"
grep -E "FAILED|watchdog|with expansion|^  [A-Z_]+\(|^test cases|^All tests" -A1 out.log | head -40
exit 0
