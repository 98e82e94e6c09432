#!/usr/bin/env python3
"""Checks the ctest registry of a build tree against the test sources.

  check_test_registry.py cases --ctest CTEST --build BUILD --sources DIR [--sources DIR...]
      The Catch entries of the build (an entry named "<exe>:<name>" whose
      command runs <exe>) are exactly the visible TEST_CASEs found in the
      *.cpp files under the source folders: same count, same names. A name
      with `;` (split in two by catch_discover_tests) or a test that was never
      discovered makes this fail.
  check_test_registry.py properties --ctest CTEST --build BUILD
      Every entry has a TIMEOUT, exactly one kind label (unit or e2e) and no
      label other than those and slow; every Catch entry runs with -w NoTests.

Standard library only (it runs under /usr/bin/python3).
"""
import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

KINDS = {"unit", "e2e"}
MACROS = {"TEST_CASE": 0, "TEST_CASE_METHOD": 1, "SCENARIO": 0}  # index of the name argument
UNCOUNTABLE = ("TEMPLATE_TEST_CASE", "TEMPLATE_PRODUCT_TEST_CASE", "TEMPLATE_LIST_TEST_CASE", "METHOD_AS_TEST_CASE",
               "REGISTER_TEST_CASE", "TEST_CASE_PERSISTENT_FIXTURE")


def ctest_registry(ctest, build):
    """ctest's JSON view of the build's tests. ctest writes Testing/Temporary/
    LastTest.log (and LastTestsFailed.log) even for --show-only, which would
    clobber the log of the run this check is part of, so it reads a copy of the
    CTestTestfile.cmake tree (they name everything else by absolute path)."""
    with tempfile.TemporaryDirectory(prefix="mixtrain-registry-") as copy:
        for folder, subfolders, files in os.walk(build):
            subfolders[:] = [d for d in subfolders if d not in ("CMakeFiles", "Testing")]
            if "CTestTestfile.cmake" in files:
                target = os.path.join(copy, os.path.relpath(folder, build))
                os.makedirs(target, exist_ok=True)
                shutil.copy(os.path.join(folder, "CTestTestfile.cmake"), target)
        out = subprocess.run([ctest, "--test-dir", copy, "--show-only=json-v1"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["tests"]


def properties_of(test):
    return {p["name"]: p["value"] for p in test.get("properties", [])}


def catch_executable(test):
    """The executable's name when the entry is a discovered Catch test, else None."""
    command = test.get("command") or []
    name = test["name"]
    if not command or ":" not in name:
        return None
    exe = os.path.basename(command[0])
    return exe if name.split(":", 1)[0] == exe else None


def strip_comments(text):
    """Removes comments and raw strings, keeping line numbers and the other literals."""
    pattern = re.compile(r'//[^\n]*|/\*.*?\*/|\bR"([^(\s]*)\(.*?\)\1"|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)

    def keep(m):
        token = m.group(0)
        newlines = "\n" * token.count("\n")  # line numbers stay right
        if token.startswith("/"):
            return " " + newlines
        if token.startswith("R"):
            return '""' + newlines  # a raw string holds no test name
        return token
    return pattern.sub(keep, text)


def literal_run(text, position):
    """Concatenated string literals starting at text[position:]: (value, end) or (None, position)."""
    literal = re.compile(r'\s*(?:u8|u|U|L)?"((?:\\.|[^"\\\n])*)"')
    value, end, found = "", position, False
    while True:
        m = literal.match(text, end)
        if not m:
            break
        value += re.sub(r'\\(.)', r'\1', m.group(1))
        end, found = m.end(), True
    return (value, end) if found else (None, position)


def argument_start(text, open_paren, index):
    """Index where argument `index` of the call whose '(' is at open_paren starts."""
    if index == 0:
        return open_paren + 1
    depth = 0
    for i in range(open_paren, len(text)):
        c = text[i]
        if c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
            if depth == 0:
                return None
        elif c == "," and depth == 1:
            index -= 1
            if index == 0:
                return i + 1
    return None


def source_test_cases(roots):
    """Names (with file:line) of the visible test cases in the *.cpp files under roots, and problems."""
    names, problems = [], []
    macro = re.compile(r'\b(' + "|".join(MACROS) + r'|' + "|".join(UNCOUNTABLE) + r')\s*\(')
    for root in roots:
        for folder, _, files in os.walk(root):
            for file in sorted(f for f in files if f.endswith(".cpp")):
                path = os.path.join(folder, file)
                text = strip_comments(open(path, encoding="utf-8").read())
                literals = [m.span() for m in re.finditer(r'"(?:\\.|[^"\\\n])*"', text)]
                for m in macro.finditer(text):
                    if any(start < m.start() < end for start, end in literals):
                        continue  # the macro's name inside a string literal
                    line = text.count("\n", 0, m.start()) + 1
                    if m.group(1) in UNCOUNTABLE:
                        problems.append(f"{path}:{line}: {m.group(1)} is not counted by this check; use TEST_CASE")
                        continue
                    start = argument_start(text, m.end() - 1, MACROS[m.group(1)])
                    name, end = literal_run(text, start) if start is not None else (None, 0)
                    if name is None:
                        problems.append(f"{path}:{line}: cannot read the test name of {m.group(1)}")
                        continue
                    tags = ""
                    rest = re.match(r'\s*,', text[end:])
                    if rest:
                        tags, _ = literal_run(text, end + rest.end())
                        tags = tags or ""
                    if re.search(r'\[(\.|!hide|hide)', tags) or name.startswith("./"):
                        continue  # hidden: Catch does not list it, so it has no ctest entry
                    if m.group(1) == "SCENARIO":
                        name = "Scenario: " + name
                    names.append((name.strip(), f"{path}:{line}"))
    return names, problems


def check_cases(args):
    tests = ctest_registry(args.ctest, args.build)
    discovered = collections.Counter()
    per_executable = collections.Counter()
    for test in tests:
        exe = catch_executable(test)
        if exe:
            discovered[test["name"].split(":", 1)[1]] += 1
            per_executable[exe] += 1
    not_built = [t["name"] for t in tests if "_NOT_BUILT" in t["name"]]
    found, problems = source_test_cases(args.sources)
    in_sources = collections.Counter(name for name, _ in found)
    where = {name: place for name, place in found}
    for name, place in found:
        if ";" in name:
            problems.append(f"{place}: test name contains ';', which catch_discover_tests splits into two entries")
    for name in sorted(in_sources - discovered):
        problems.append(f"{where[name]}: TEST_CASE \"{name}\" has no ctest entry")
    for name in sorted(discovered - in_sources):
        problems.append(f"ctest entry \"{name}\" matches no TEST_CASE in {', '.join(args.sources)}")
    for name in not_built:
        problems.append(f"{name}: a Catch executable was not built, so its tests were never discovered")
    total_sources, total_entries = sum(in_sources.values()), sum(discovered.values())
    print(f"{total_sources} visible TEST_CASEs in the sources, {total_entries} Catch entries in ctest "
          f"({', '.join(f'{e}: {n}' for e, n in sorted(per_executable.items()))})")
    if total_sources != total_entries:
        problems.append(f"counts differ: {total_sources} TEST_CASEs, {total_entries} Catch entries")
    if not per_executable:
        problems.append("no Catch entries at all: is the build tree built and configured with tests?")
    return problems


def check_properties(args):
    problems = []
    tests = ctest_registry(args.ctest, args.build)
    for test in tests:
        name, props = test["name"], properties_of(test)
        labels = props.get("LABELS") or []
        labels = [labels] if isinstance(labels, str) else labels
        timeout = props.get("TIMEOUT")
        if not timeout or float(timeout) <= 0:
            problems.append(f"{name}: no TIMEOUT")
        kinds = [label for label in labels if label in KINDS]
        if len(kinds) != 1:
            problems.append(f"{name}: labels {labels} must hold exactly one of {sorted(KINDS)}")
        if set(labels) - KINDS - {"slow"}:
            problems.append(f"{name}: unknown labels {sorted(set(labels) - KINDS - {'slow'})}")
        command = test.get("command") or []
        if catch_executable(test) and not any(a == "-w" and b == "NoTests" for a, b in zip(command, command[1:])):
            problems.append(f"{name}: a Catch entry must run with -w NoTests (a name matching nothing would pass)")
    by_label = collections.Counter(label for t in tests for label in (properties_of(t).get("LABELS") or []))
    print(f"{len(tests)} entries; labels: {dict(sorted(by_label.items()))}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=["cases", "properties"])
    parser.add_argument("--ctest", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--sources", action="append", default=[])
    args = parser.parse_args()
    problems = check_cases(args) if args.check == "cases" else check_properties(args)
    for problem in problems:
        print("FAIL:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
