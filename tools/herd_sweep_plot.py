#!/usr/bin/env python3
"""Draw one column of a herd sweep (sweep.csv) against a swept key.

Runs that differ only in their seed are one point: the mean, with a bar from the least to
the largest value. The other swept keys (--groups) give one line per combination of their
values. Rows where the column is empty (a target never met, a failed run) are left out.
With --ideal-speedup the line y = x / x_first is drawn too: linear speedup.

Exit status: 0 drawn, 2 invalid input, 3 a file could not be read or written. `herd sweep`
runs a copy of this script embedded in its binary.
"""
# Keep this file ASCII: herd passes it to `python -c`, where its bytes meet the locale.

import argparse
import csv
import math
import os
import sys

FIGSIZE_IN = (7.0, 4.5)
DPI = 150
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*")


class InputError(Exception):
    exit_status = 2


class IoFailure(Exception):
    exit_status = 3


def number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_table(path, x, y, groups):
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise IoFailure(f"cannot read {path}: {e.strerror}") from None
    if not rows:
        raise InputError(f"{path} has no runs")
    for column in [x, y] + groups:
        if column not in rows[0]:
            raise InputError(f"{path} has no column '{column}'; its columns: "
                             f"{', '.join(rows[0].keys())}")
    return rows


def series(rows, x, y, groups):
    """{group: {x value: [y values]}}, x as a number when every value is one."""
    numeric_x = all(number(r[x]) is not None for r in rows)
    lines = {}
    for r in rows:
        value = number(r[y])
        if value is None:
            continue
        key = tuple(r[g] for g in groups)
        xv = number(r[x]) if numeric_x else r[x]
        lines.setdefault(key, {}).setdefault(xv, []).append(value)
    return numeric_x, lines


def draw(args):
    extension = os.path.splitext(args.output)[1].lower()
    groups = [g for g in args.groups.split(",") if g]
    rows = read_table(args.csv, args.x, args.y, groups)
    numeric_x, lines = series(rows, args.x, args.y, groups)
    if not lines:
        raise InputError(f"no run of {args.csv} has a value in '{args.y}' (a target never met?)")
    try:
        import matplotlib
    except ImportError as e:
        raise IoFailure(f"{sys.executable} cannot import matplotlib ({e}); "
                        "install Debian's python3-matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=FIGSIZE_IN)
    all_x = []
    for i, (key, points) in enumerate(sorted(lines.items())):
        xs = sorted(points) if numeric_x else list(points)
        means = [sum(points[v]) / len(points[v]) for v in xs]
        # Clipped at 0: the mean of equal values may differ from them in the last bit.
        low = [max(0.0, m - min(points[v])) for m, v in zip(means, xs)]
        high = [max(0.0, max(points[v]) - m) for m, v in zip(means, xs)]
        label = ", ".join(f"{g}={k}" for g, k in zip(groups, key)) or args.y
        ax.errorbar(xs, means, yerr=[low, high], marker=MARKERS[i % len(MARKERS)],
                    capsize=3, linewidth=1.5, label=label)
        all_x.extend(xs)
    if args.ideal_speedup and numeric_x:
        first = min(all_x)
        xs = sorted(set(all_x))
        ax.plot(xs, [v / first for v in xs], linestyle="--", color="gray",
                label="linear speedup")
    if numeric_x and min(all_x) > 0 and max(all_x) / min(all_x) >= 8:
        # Powers of two (K = 1, 2, 4, ...) evenly spaced, labelled as plain numbers.
        axes = [ax.xaxis] + ([ax.yaxis] if args.ideal_speedup else [])
        ax.set_xscale("log", base=2)
        if args.ideal_speedup:
            ax.set_yscale("log", base=2)
        for axis in axes:
            axis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    for mark in args.mark:
        at, _, text = mark.partition(":")
        try:
            at = float(at)
        except ValueError:
            raise InputError(f"--mark {mark}: expected X:LABEL with X a number") from None
        ax.axvline(at, linestyle=":", color="0.3", linewidth=1.2, label=text)
    ax.grid(True, alpha=0.4)
    ax.set_xlabel(args.x)
    ax.set_ylabel(args.y)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    directory, name = os.path.split(os.path.abspath(args.output))
    partial = os.path.join(directory, f".{name}.{os.getpid()}.partial")
    try:
        fig.savefig(partial, format=extension[1:] or "png", dpi=DPI)
        os.replace(partial, args.output)
    except OSError as e:
        if os.path.exists(partial):
            os.remove(partial)
        raise IoFailure(f"cannot write '{args.output}': {e.strerror}") from None
    finally:
        plt.close(fig)


def main(argv):
    parser = argparse.ArgumentParser(description="Draw a sweep column against a swept key.")
    parser.add_argument("csv", metavar="SWEEP_CSV")
    parser.add_argument("--output", required=True)
    parser.add_argument("--x", required=True)
    parser.add_argument("--y", required=True)
    parser.add_argument("--groups", default="")
    parser.add_argument("--ideal-speedup", action="store_true")
    parser.add_argument("--mark", action="append", default=[], metavar="X:LABEL",
                        help="a vertical line at X, labelled (repeatable)")
    args = parser.parse_args(argv)
    try:
        draw(args)
    except (InputError, IoFailure) as e:
        print(f"herd sweep: error: {e}", file=sys.stderr)
        return e.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
