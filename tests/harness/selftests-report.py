#!/usr/bin/env python3
"""The host's side of KVM's selftests: reads the console logs of the boots
that ran tests/boot/selftests and

  * prints one check line per test in the format of tests/run-all.sh's
    results ("ok - ...", "not ok - ...: why", "skip - ...: why"), appended to
    --results FILE too;
  * writes the table of results (markdown) to --table FILE and, with
    --readme FILE, between the selftests-table markers in that file;
  * with --write-baseline, rewrites tests/selftests/baseline-ARCH from what
    passed on axvm.

The rules (issue 18): a test that passes on KVM must pass on axvm when axvm
offers everything tests/selftests/needs says it needs (per the probes the
runner printed: KVM_CHECK_EXTENSION and friends); a test listed in
tests/selftests/baseline-ARCH must pass on axvm; a skip never counts as a
pass. A test that needs what axvm does not offer, or that does not pass on
KVM either, is a "skip" with the reason. A kernel report (WARNING, BUG, ...)
while a test ran on axvm fails the boot's no_kernel_reports_under_axvm check.

Usage: selftests-report.py [--results FILE] [--table FILE] [--readme FILE]
           [--write-baseline] BOOT=CONSOLE_LOG...
(BOOT names the boot, e.g. debian-6.1; its architecture comes from the log.)
Exits 1 when a check failed, 0 otherwise.
"""
import argparse
import os
import re
import sys

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SELFTESTS = os.path.join(TOP, "tests", "selftests")
BEGIN_MARK = "<!-- selftests-table:begin (tests/harness/selftests-report.py writes this part) -->"
END_MARK = "<!-- selftests-table:end -->"
KERNEL_REPORT = re.compile(
    r"WARNING:|BUG:|Oops|general protection|Call Trace|lockdep|circular locking|recursive locking|"
    r"inconsistent lock|sleeping function called|scheduling while atomic|UBSAN|KASAN|kmemleak|"
    r"RIP:|Kernel panic|Internal error:|Unable to handle kernel")
RESULT = re.compile(r"^selftest (\S+) kvm=(\w+) axvm=(\w+) time=([\d.]+),([\d.]+)(.*)$")
ARCH_NAMES = {"x86_64": "x86_64", "aarch64": "arm64"}


def strip_comment(line):
    return line.split("#", 1)[0].split()


def read_needs():
    """(requirements by name, {(arch, test): [names]})"""
    requires, needs = {}, {}
    with open(os.path.join(SELFTESTS, "needs")) as f:
        for raw in f:
            words = strip_comment(raw)
            if not words:
                continue
            if words[0] == "require":
                name, probe = words[1], words[2]
                desc = raw.split("#", 1)[0].split(None, 3)[3].strip() if len(words) > 3 else name
                requires[name] = (probe, desc)
            else:
                arch, test, names = words[0], words[1], words[2:]
                needs.setdefault((arch, test), []).extend(names)
    for names in needs.values():
        for n in names:
            if n not in requires:
                sys.exit(f"selftests-report: tests/selftests/needs: '{n}' has no require line")
    return requires, needs


def test_needs(needs, arch, test):
    return needs.get((arch, test), []) + needs.get(("*", test), [])


def read_baseline(arch):
    path = os.path.join(SELFTESTS, f"baseline-{arch}")
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return {w[0] for w in (strip_comment(l) for l in f) if w}


class Boot:
    def __init__(self, name, path):
        self.name, self.path = name, path
        self.arch = None
        self.count = 0
        self.timeout = None
        self.some = False  # only some tests ran (SELFTESTS=...)
        self.probes = {"kvm": {}, "axvm": {}}
        self.results = {}  # test -> dict
        self.logs = {}  # (test, dev) -> [lines]
        self.reports = {"kvm": [], "axvm": []}  # (test, line)
        self.seconds = None
        self.parse()

    def parse(self):
        current = None
        try:
            lines = open(self.path, errors="replace").read().splitlines()
        except OSError as e:
            self.error = str(e)
            return
        self.error = None
        for line in lines:
            if line.startswith("selftest-begin "):
                w = line.split()
                self.arch, self.count = w[1], int(w[2])
                opts = dict(x.split("=", 1) for x in w[3:] if "=" in x)
                self.timeout = opts.get("timeout")
                self.some = opts.get("some") == "yes"
            elif line.startswith("selftest-probe "):
                w = line.split()
                for kv in w[2:]:
                    k, _, v = kv.partition("=")
                    try:
                        self.probes.setdefault(w[1], {})[k] = int(v)
                    except ValueError:
                        self.probes.setdefault(w[1], {})[k] = None
            elif line.startswith("selftest-start "):
                w = line.split()
                current = (w[1], w[2])
            elif line.startswith("selftest-log "):
                m = re.match(r"^selftest-log (\S+) (\w+): (.*)$", line)
                if m:
                    self.logs.setdefault((m.group(1), m.group(2)), []).append(m.group(3))
            elif line.startswith("selftest-end"):
                current = None
                self.seconds = float(line.split()[1])
            elif line.startswith("selftest "):
                m = RESULT.match(line)
                if not m:
                    continue
                test, kvm, axvm, kt, at, rest = m.groups()
                why = {"kvm": "", "axvm": ""}
                for part in rest.split(" | ")[1:]:
                    dev, _, text = part.partition(": ")
                    why[dev.strip()] = text.strip()
                self.results[test] = {"kvm": kvm, "axvm": axvm, "time": (float(kt), float(at)), "why": why}
                current = None
            elif current and KERNEL_REPORT.search(line):
                self.reports[current[1]].append((current[0], line.strip()))


def offered(boot, requires, name):
    probe = requires[name][0]
    value = boot.probes.get("axvm", {}).get(probe)
    return value is not None and value > 0


def cell(result, why, limit=110):
    if result == "pass":
        return "pass"
    if result == "timeout":
        return "timeout" + (f" ({why})" if why else "")
    text = f"{result}: {why}" if why else result
    return text if len(text) <= limit else text[: limit - 1] + "…"


def judge(boot, requires, needs, baseline):
    """[(status, name, why)] for one boot; status ok, not ok or skip."""
    out = []
    pre = f"{boot.name}.selftests"
    if boot.error:
        return [("not ok", f"{pre}.completed", boot.error)]
    if boot.arch is None:
        return [("not ok", f"{pre}.completed", f"no selftest-begin line in {boot.path}")]
    done = boot.seconds is not None and len(boot.results) == boot.count
    out.append(("ok" if done else "not ok", f"{pre}.completed",
                f"{len(boot.results)} of {boot.count} tests reported, "
                + ("selftest-end seen" if boot.seconds is not None else "no selftest-end")))
    for test in sorted(set(boot.results) | (set() if boot.some else baseline)):
        name = f"{boot.name}.selftest.{test}"
        r = boot.results.get(test)
        if r is None:
            out.append(("not ok", name, f"in baseline-{boot.arch} but it did not run (not built?)"))
            continue
        kvm, axvm, why = r["kvm"], r["axvm"], r["why"]
        if axvm == "excluded":
            if test in baseline:
                out.append(("not ok", name, f"in baseline-{boot.arch} but excluded by tests/selftests/plan"))
            else:
                out.append(("skip", name, f"excluded by tests/selftests/plan: {why['kvm']}"))
            continue
        axvm_said = cell(axvm, why["axvm"])
        kvm_said = cell(kvm, why["kvm"])
        missing = [n for n in test_needs(needs, boot.arch, test) if not offered(boot, requires, n)]
        if axvm == "pass":
            out.append(("ok", name, ""))
        elif test in baseline:
            out.append(("not ok", name, f"regressed (passes in baseline-{boot.arch}): axvm {axvm_said}"))
        elif kvm == "pass" and not missing:
            out.append(("not ok", name, f"passes on KVM, axvm offers what it needs: axvm {axvm_said}"))
        elif kvm == "pass":
            what = ", ".join(f"{n} ({requires[n][1]})" for n in missing)
            out.append(("skip", name, f"needs {what}, which axvm does not offer; axvm {axvm_said}"))
        else:
            out.append(("skip", name, f"not a pass on KVM either (kvm {kvm_said}); axvm {axvm_said}"))
    bad = boot.reports["axvm"]
    out.append(("ok" if not bad else "not ok", f"{pre}.no_kernel_reports_under_axvm",
                "; ".join(f"{t}: {l}" for t, l in bad[:3])))
    return out


def tables(boots, requires, needs):
    by_arch = {}  # in the order of the boots
    for b in boots:
        if b.arch:
            by_arch.setdefault(b.arch, []).append(b)
    md = []
    named = set()
    for arch in by_arch:
        group = by_arch[arch]
        tests = sorted(set().union(*(b.results for b in group)))

        def cells(b, t):
            r = b.results.get(t)
            if r is None:
                return ("not run", "not run")
            if r["axvm"] == "excluded":
                return ("excluded", "excluded: " + r["why"]["kvm"])
            miss = [n for n in test_needs(needs, arch, t) if not offered(b, requires, n)]
            named.update(miss)
            ax = cell(r["axvm"], r["why"]["axvm"])
            if miss and r["axvm"] != "pass":
                ax = f"{r['axvm']}, needs {', '.join(miss)}: {r['why']['axvm']}"
                ax = cell("x", ax)[3:]
            return (cell(r["kvm"], r["why"]["kvm"]), ax)

        same = all(cells(b, t) == cells(group[0], t) for b in group for t in tests)
        cols = [group[0]] if same else group
        names = ", ".join(b.name for b in group)
        md.append(f"**{ARCH_NAMES.get(arch, arch)}** ({names}):")
        for b in group:
            r = b.results.values()
            n_kvm = sum(1 for x in r if x["kvm"] == "pass")
            n_ax = sum(1 for x in r if x["axvm"] == "pass")
            took = f", {b.seconds:.0f} s" if b.seconds is not None else ""
            md.append(f"{b.name}: {len(r)} tests, {n_kvm} pass on KVM, {n_ax} on axvm{took}.")
        md.append("")
        head = ["test"]
        for b in cols:
            suffix = "" if same else f" ({b.name})"
            head += [f"KVM{suffix}", f"axvm{suffix}"]
        md.append("| " + " | ".join(head) + " |")
        md.append("|" + " --- |" * len(head))
        for t in tests:
            row = [f"`{t}`"]
            for b in cols:
                row += list(cells(b, t))
            md.append("| " + " | ".join(row) + " |")
        md.append("")
    if named:
        md.append("What \"needs\" names, which axvm does not offer (tests/selftests/needs): " +
                  "; ".join(f"{k}: {requires[k][1]}" for k in sorted(named)) + ".")
    return "\n".join(md).rstrip() + "\n"


def update_readme(path, table):
    text = open(path).read()
    if BEGIN_MARK not in text or END_MARK not in text:
        sys.exit(f"selftests-report: no selftests-table markers in {path}")
    head, rest = text.split(BEGIN_MARK, 1)
    _, tail = rest.split(END_MARK, 1)
    new = head + BEGIN_MARK + "\n" + table + END_MARK + tail
    if new != text:
        with open(path, "w") as f:
            f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results")
    ap.add_argument("--table")
    ap.add_argument("--readme")
    ap.add_argument("--write-baseline", action="store_true")
    ap.add_argument("boots", nargs="+", metavar="BOOT=CONSOLE_LOG")
    args = ap.parse_args()
    requires, needs = read_needs()
    boots = []
    for spec in args.boots:
        name, _, path = spec.partition("=")
        if not path:
            ap.error(f"{spec}: expected BOOT=CONSOLE_LOG")
        boots.append(Boot(name, path))

    lines, failed = [], False
    for b in boots:
        baseline = read_baseline(b.arch) if b.arch else set()
        for status, name, why in judge(b, requires, needs, baseline):
            lines.append(f"{status} - {name}" + (f": {why}" if why and status != "ok" else ""))
            failed |= status == "not ok"
        for t, l in b.reports["kvm"][:3]:
            print(f"note: {b.name}: a kernel report while {t} ran on KVM: {l}")
        for (t, dev), log in sorted(b.logs.items()):
            r = b.results.get(t, {})
            if dev == "axvm" and r.get("kvm") == "pass":
                print(f"--- {b.name}: {t} on axvm (its output's tail)")
                print("\n".join("    " + l for l in log))
    print("\n".join(lines))
    if args.results:
        with open(args.results, "a") as f:
            f.write("\n".join(lines) + "\n")
    table = tables(boots, requires, needs)
    if args.table:
        with open(args.table, "w") as f:
            f.write(table)
    if args.readme:
        update_readme(args.readme, table)
    if args.write_baseline:
        by_arch = {}
        for b in boots:
            if b.arch:
                passed = {t for t, r in b.results.items() if r["axvm"] == "pass"}
                by_arch[b.arch] = by_arch.get(b.arch, passed) & passed
        for arch, passed in by_arch.items():
            with open(os.path.join(SELFTESTS, f"baseline-{arch}"), "w") as f:
                f.write(f"# KVM selftests that pass on axvm ({arch}); each must go on passing.\n"
                        "# tests/harness/selftests-report.py --write-baseline rewrites this file.\n")
                f.write("".join(f"{t}\n" for t in sorted(passed)))
    passed = sum(l.startswith("ok - ") for l in lines)
    nok = sum(l.startswith("not ok - ") for l in lines)
    skipped = sum(l.startswith("skip - ") for l in lines)
    print(f"selftests: {passed} passed, {nok} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
