#!/usr/bin/env python3
"""CI's regression check of the science: every study listed in studies/reproduced-at-quick-scale
must still be judged "reproduced" by `herd reproduce all --scale quick` (its index.json).

    python3 tools/check_reproduced.py OUT/index.json studies/reproduced-at-quick-scale

A study that stops reproducing fails the check with its verdict and report; a study that
reproduces but is not listed is reported, so that the list can grow with it."""
import json
import sys


def main(index_file, baseline_file):
    with open(index_file) as f:
        verdicts = {entry["id"]: entry["verdict"] for entry in json.load(f)}
    with open(baseline_file) as f:
        expected = [line.split("#")[0].strip() for line in f]
    expected = [e for e in expected if e]
    failed = []
    for study in expected:
        verdict = verdicts.get(study, "not run")
        if verdict != "reproduced":
            failed.append(f"{study}: {verdict} (it reproduced at quick scale before); see its "
                          f"report.md beside {index_file}")
    for study, verdict in sorted(verdicts.items()):
        if verdict == "reproduced" and study not in expected:
            print(f"note: {study} now reproduces at quick scale; add it to {baseline_file}")
    for line in failed:
        print(f"REGRESSION: {line}", file=sys.stderr)
    print(f"{len(expected) - len(failed)} of {len(expected)} studies that reproduced at quick "
          f"scale still do")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
