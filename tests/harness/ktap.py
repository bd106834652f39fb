#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Joins the per-suite KTAP blocks a test boot printed into one KTAP
document for the kernel's `kunit.py parse`, and counts the cases.

Usage: ktap.py CONSOLE_LOG OUT_KTAP
Prints one line per case, "ok - kunit.SUITE.CASE" / "not ok - ..." /
"skip - ...", for tests/run-all.sh to count.
"""
import re
import sys


def main():
    log, out = sys.argv[1], sys.argv[2]
    suites, cur = [], None
    for raw in open(log, errors="replace"):
        line = raw.rstrip("\r\n")
        if line.startswith("AXVM-KTAP-BEGIN"):
            cur = []
        elif line.startswith("AXVM-KTAP-END"):
            if cur is not None:
                suites.append(cur)
            cur = None
        elif cur is not None:
            # Kernel messages (a device probing late, say) can land on the
            # console between the lines cat printed: not part of the KTAP.
            if not re.match(r"^\[\s*\d+\.\d+\] ", line):
                cur.append(line)

    doc = ["KTAP version 1", f"1..{len(suites)}"]
    for n, body in enumerate(suites, 1):
        # Drop each suite's own document header; renumber its result line.
        body = [l for l in body if not re.match(r"^(KTAP|TAP) version", l) and l != "1..1"]
        suite = "?"
        for l in body:
            m = re.match(r"^\s+# Subtest: (\S+)", l)
            if m:
                suite = m.group(1)
                break
        planned, seen = None, 0
        for l in body:
            m = re.match(r"^(ok|not ok) \d+ (- )?(\S+)(.*)$", l)
            if m and not l.startswith(" "):
                doc.append(f"{m.group(1)} {n} {m.group(3)}{m.group(4)}")
                continue
            doc.append(l)
            p = re.match(r"^\s{4}1\.\.(\d+)$", l)
            if p and planned is None:
                planned = int(p.group(1))
            c = re.match(r"^\s{4}(ok|not ok) \d+ (- )?(\S+)(.*)$", l)
            if c:
                seen += 1
                verdict = c.group(1)
                if "# SKIP" in c.group(4):
                    verdict = "skip"
                print(f"{verdict} - kunit.{suite}.{c.group(3)}")
        # KUnit keeps a short log per case (512 bytes on 6.1): long failure
        # output can swallow result lines. A missing result is a failure.
        if planned is not None and seen < planned:
            print(f"not ok - kunit.{suite}.results_missing: {planned - seen} of {planned} lost")
    with open(out, "w") as f:
        f.write("\n".join(doc) + "\n")
    if not suites:
        print("not ok - kunit.no_suites_reported")


if __name__ == "__main__":
    main()
