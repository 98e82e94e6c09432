#!/usr/bin/env python3
"""Prints the slowest entries of the last ctest run and the summed test time.

  slowest_tests.py BUILD/Testing/Temporary/LastTest.log [--top 15] [--wall SECONDS]

Reads the "N/M Test: <name>" and "Test time = <s> sec" lines ctest writes to
LastTest.log (one pair per entry run). --wall adds the run's wall-clock time,
measured by the caller, to the summary. Standard library only.
"""
import argparse
import re
import sys


def entries(log):
    name, out = None, []
    for line in open(log, encoding="utf-8", errors="replace"):
        m = re.match(r"\d+/\d+ Test: (.*)$", line.rstrip("\n"))
        if m:
            name = m.group(1)
            continue
        m = re.match(r"Test time =\s*([0-9.]+) sec", line)
        if m and name is not None:
            out.append((float(m.group(1)), name))
            name = None
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--wall", type=float, default=None)
    args = parser.parse_args()
    times = sorted(entries(args.log), reverse=True)
    if not times:
        print(f"no test times in {args.log}")
        return 1
    total = sum(t for t, _ in times)
    print(f"\nslowest {min(args.top, len(times))} of {len(times)} entries (seconds):")
    for seconds, name in times[:args.top]:
        print(f"  {seconds:8.2f}  {name}")
    wall = f", wall clock {args.wall:.0f} s" if args.wall is not None else ""
    print(f"sum of entry times {total:.0f} s{wall}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
