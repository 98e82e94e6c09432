#!/usr/bin/env bash
# expect_failure.sh REGEX COMMAND...: passes when COMMAND exits non-zero and its
# output (lines joined by spaces) matches REGEX (a clear message), fails otherwise.
regex=$1
shift
output=$("$@" 2>&1)
status=$?
echo "$output"
if [ "$status" -eq 0 ]; then echo "expected a non-zero exit status, got 0"; exit 1; fi
if ! tr "\n" " " <<<"$output" | grep -Eq -- "$regex"; then echo "expected the output to match: $regex"; exit 1; fi
exit 0
