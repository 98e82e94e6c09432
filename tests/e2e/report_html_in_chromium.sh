#!/usr/bin/env bash
# e2e:report_html_renders_in_chromium: a sample report.html (write_sample_report)
# passes check_report_html.sh, and the check itself fails on copies that log a
# console error, throw a script error, or leave one chart without data; so a
# check that passes everything would show here.
#   report_html_in_chromium.sh <write_sample_report executable>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
writer="${1:?usage: report_html_in_chromium.sh <write_sample_report>}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$writer" "$work/run" >/dev/null
"$here/check_report_html.sh" "$work/run/report.html"

# Variants of the report that the check must refuse, each with the reason it must give.
/usr/bin/python3 - "$work/run/report.html" "$work" <<'EOF'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
def write(name, text):
    assert text != html, name
    open(f"{sys.argv[2]}/{name}.html", "w", encoding="utf-8").write(text)
write("console_error", html.replace("</body>", '<script>console.error("deliberate console error")</script></body>'))
write("script_error", html.replace("</body>", "<script>undefined_function()</script></body>"))
start = html.index('data-chart="val_mre"')
end = html.index("</svg>", start)
chart = re.sub(r'<path class="line"[^>]*/>|<circle class="pt".*?</circle>', "", html[start:end])
write("blank_chart", html[:start] + chart + html[end:])
EOF
expect_failure() {
  local name="$1" reason="$2" output
  if output="$("$here/check_report_html.sh" "$work/$name.html" 2>&1)"; then
    echo "$output"; echo "FAIL: the check passed the $name variant"; exit 1
  fi
  grep -q -- "$reason" <<<"$output" || { echo "$output"; echo "FAIL: $name refused, but not for: $reason"; exit 1; }
  echo "refused as expected: $name ($reason)"
}
expect_failure console_error "deliberate console error"
expect_failure script_error "Uncaught ReferenceError"
expect_failure blank_chart "chart frame 2 .* is blank"
