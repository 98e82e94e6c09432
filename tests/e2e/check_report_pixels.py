#!/usr/bin/python3
"""Checks a Chromium screenshot of report.html against one of an empty page.

  check_report_pixels.py REPORT_PNG EMPTY_PNG REPORT_HTML

Fails (exit 1, naming what is wrong) when
  - the screenshot does not differ from the empty page's;
  - fewer chart frames show than the HTML has charts (<svg class="chart ...">),
    unless the rest lie below the window;
  - a chart frame is blank: too few pixels of the chart palette (lines, points,
    bars) or of dark text (ticks, title) inside it.
Chart frames are found by their border colour (report_html.hpp's .chart-card,
#b8c4d4), which nothing else on the page uses.
"""
import re
import sys

import cv2
import numpy as np

BORDER_BGR = (0xD4, 0xC4, 0xB8)  # #b8c4d4
PALETTE_RGB = ["0072b2", "d55e00", "009e73", "cc79a7", "e69f00", "56b4e9", "6a3d9a"]  # io::chart_palette


def near(image, bgr, tolerance):
    return np.all(np.abs(image.astype(np.int16) - np.array(bgr, np.int16)) <= tolerance, axis=2)


def main():
    report_png, empty_png, report_html = sys.argv[1:4]
    shot, empty = cv2.imread(report_png), cv2.imread(empty_png)
    if shot is None or empty is None:
        sys.exit(f"cannot read the screenshots {report_png} / {empty_png}")
    problems = []
    if shot.shape != empty.shape:
        problems.append(f"screenshot sizes differ: {shot.shape} vs {empty.shape}")
    else:
        changed = np.any(shot != empty, axis=2).mean()
        print(f"pixels differing from the empty page: {100 * changed:.1f} %")
        if changed < 0.05:
            problems.append(f"the report looks like an empty page (only {100 * changed:.2f} % of pixels differ)")

    with open(report_html, encoding="utf-8") as f:
        expected = len(re.findall(r'<svg class="chart ', f.read()))
    height, width = shot.shape[:2]
    border = near(shot, BORDER_BGR, 3).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(border, connectivity=8)
    frames = [tuple(stats[i][:4]) for i in range(1, count) if stats[i][2] >= 200 and stats[i][3] >= 120]
    frames.sort(key=lambda r: (r[1], r[0]))
    print(f"chart frames on screen: {len(frames)} (charts in the HTML: {expected})")
    cut = any(y + h >= height - 2 for _, y, _, h in frames)
    if len(frames) < expected and not cut:
        problems.append(f"only {len(frames)} chart frames show, the HTML has {expected} charts")
    if expected == 0:
        problems.append("the HTML has no chart")

    palette = np.zeros(shot.shape[:2], bool)
    for hex_rgb in PALETTE_RGB:
        r, g, b = (int(hex_rgb[i:i + 2], 16) for i in (0, 2, 4))
        palette |= near(shot, (b, g, r), 40)
    dark = np.all(shot < 110, axis=2)
    for n, (x, y, w, h) in enumerate(frames, 1):
        inside = (slice(y + 3, y + h - 3), slice(x + 3, x + w - 3))
        data, text = int(palette[inside].sum()), int(dark[inside].sum())
        print(f"  frame {n} at x={x} y={y} {w}x{h}: {data} chart-colour pixels, {text} text pixels")
        if data < 40 or text < 30:
            problems.append(f"chart frame {n} at x={x} y={y} ({w}x{h}) is blank: {data} chart-colour pixels, "
                            f"{text} text pixels")
    for p in problems:
        print("FAIL: " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
