#!/usr/bin/env bash
# Opens a report.html in headless Chromium and checks what a reader would see:
#   check_report_html.sh <report.html> [<folder for the screenshots>]
# Fails when the page logs anything to the console (the report has no script,
# so any message is a fault: this Chromium logs console.error, uncaught
# exceptions and console.log alike as `INFO:CONSOLE:<line>] "<text>", source:
# <url> (<line>)`, older ones as `CONSOLE(<line>)`; dbus, GPU and sandbox
# warnings on stderr are noise and ignored), when no screenshot comes back, or
# when the pixels show an empty page or a blank chart (check_report_pixels.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
report="$(realpath "${1:?usage: check_report_html.sh <report.html> [<screenshot folder>]}")"
[ -f "$report" ] || { echo "FAIL: no such file: $report"; exit 1; }
browser=""
for name in chromium chromium-browser google-chrome; do
  command -v "$name" >/dev/null && { browser="$name"; break; }
done
[ -n "$browser" ] || { echo "FAIL: no chromium found (scripts/test installs Debian's chromium)"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${2:-$work}"
mkdir -p "$out"
flags=(--headless --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0 --window-size=1280,2400
       --no-first-run --user-data-dir="$work/profile")  # an own profile: two checks may run at once
[ "$(id -u)" -eq 0 ] && flags+=(--no-sandbox)

# Renders $1 into $2 (stderr into $2.log); fails when no screenshot comes back.
shoot() {
  rm -f "$2"
  timeout 120 "$browser" "${flags[@]}" --screenshot="$2" "file://$1" >"$2.log" 2>&1 </dev/null || true
  [ -s "$2" ] || { echo "FAIL: Chromium wrote no screenshot of $1:"; tail -n 20 "$2.log"; exit 1; }
}

printf '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>empty</title></head><body></body></html>\n' \
  >"$work/empty.html"
shoot "$work/empty.html" "$out/empty.png"
shoot "$report" "$out/report.png"

status=0
if grep -E ':CONSOLE[:(]' "$out/report.png.log" >"$work/console"; then
  echo "FAIL: the page logged to the console:"
  cat "$work/console"
  status=1
fi
/usr/bin/python3 "$here/check_report_pixels.py" "$out/report.png" "$out/empty.png" "$report" || status=1
[ $status -eq 0 ] && echo "report.html renders: $report"
exit $status
