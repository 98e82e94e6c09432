# Sourced by the fault tests: a work folder removed on exit, synthetic data,
# waiting for a line in a log, and failing with the log shown.
work=$(mktemp -d)
trap 'jobs -p | xargs -r kill -9 2>/dev/null; rm -rf "$work"' EXIT

fail() {
  echo "FAILED: $*"
  for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }; done
  exit 1
}

# make_data <exe> <train> <valid>: small synthetic Aariz-layout data in $work/data.
make_data() {
  "$1" synth --output "$work/data" --train "$2" --valid "$3" --test 0 --min_side 200 --max_side 300 --seed 3 >/dev/null
}

# wait_for <file> <regex> <seconds>: until a line matches, or fail.
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -Eq "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "no line matching '$2' in $1 within $3 s"
    sleep 0.05
  done
}

# expect_status <expected> <actual> <what>
expect_status() {
  [ "$2" -eq "$1" ] || fail "$3: exit status $2, expected $1"
}
