#!/usr/bin/env python3
"""Draw several herd runs on one figure: one line per run, a marker at each evaluation.

A run directory holds metrics.jsonl (one JSON object per evaluation; a row where the x or
y metric is absent, null or not finite is skipped) and summary.json, whose "label" names
the run in the legend (the directory name when there is none).

Exit status: 0 drawn, 2 invalid input (arguments, run files), 3 a file could not be read
or the figure could not be written. `herd plot` runs a copy of this script embedded in its
binary and maps these to its own error kinds.
"""
# Keep this file ASCII: herd passes it to `python -c`, where its bytes meet the locale.

import argparse
import json
import math
import os
import sys

X_CHOICES = ("time", "grads", "rounds", "bytes", "epoch")
FORMATS = (".png", ".pdf", ".svg")
# Metrics that shrink by orders of magnitude: drawn on a log scale unless told otherwise.
LOG_METRICS = ("train_loss", "test_loss", "suboptimality", "grad_norm2", "consensus")
AXIS_LABELS = {
    "time": "time [s]",
    "step": "steps per worker",
    "epoch": "epochs",
    "grads": "gradients computed",
    "rounds": "communication rounds",
    "train_loss": "training loss",
    "test_loss": "test loss",
    "test_acc": "test accuracy",
    "grad_norm2": r"$\Vert\nabla F(x)\Vert^2$",
    "suboptimality": r"$F(x) - F^\star$",
    "consensus": r"consensus: mean of $\Vert x_k - \bar{x}\Vert^2$",
}
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*")
FIGSIZE_IN = (7.0, 4.5)
DPI = 150


class InputError(Exception):
    exit_status = 2


class IoFailure(Exception):
    exit_status = 3


def is_finite_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_rows(directory):
    path = os.path.join(directory, "metrics.jsonl")
    if not os.path.isdir(directory):
        raise InputError(f"run directory '{directory}' does not exist")
    if not os.path.isfile(path):
        raise InputError(f"run directory '{directory}' has no metrics.jsonl")
    rows = []
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise InputError(f"{path}:{number}: not valid JSON ({e.msg})") from None
                if not isinstance(row, dict):
                    raise InputError(f"{path}:{number}: expected a JSON object")
                rows.append(row)
    except OSError as e:
        raise IoFailure(f"cannot read {path}: {e.strerror}") from None
    return rows


def read_label(directory):
    fallback = os.path.basename(os.path.abspath(directory))
    path = os.path.join(directory, "summary.json")
    if not os.path.isfile(path):
        return fallback
    try:
        with open(path, encoding="utf-8") as f:
            summary = json.load(f)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    except OSError as e:
        raise IoFailure(f"cannot read {path}: {e.strerror}") from None
    label = summary.get("label") if isinstance(summary, dict) else None
    return label if isinstance(label, str) and label else fallback


def read_series(directory, x, y):
    """The (x, y) points of one run, from rows where both are finite numbers."""
    rows = read_rows(directory)
    present = sorted({key for row in rows for key, value in row.items() if is_finite_number(value)})
    for metric in (x, y):
        if metric not in present:
            raise InputError(
                f"run '{directory}' has no metric '{metric}' in metrics.jsonl; "
                f"its metrics: {', '.join(present) or 'none'}")
    points = [(row[x], row[y]) for row in rows
              if is_finite_number(row.get(x)) and is_finite_number(row.get(y))]
    if not points:
        raise InputError(f"run '{directory}': no evaluation has both '{x}' and '{y}'")
    return [p[0] for p in points], [p[1] for p in points]


def use_log_scale(mode, metric, values):
    positive = min(values) > 0
    if mode == "on" and not positive:
        raise InputError(f"--logy on, but '{metric}' has values <= 0 "
                         f"(the least is {min(values):g}); use --logy auto or off")
    if mode == "auto":
        return positive and (metric in LOG_METRICS or metric.endswith("_loss"))
    return mode == "on"


def axis_scale(metric, values):
    """(divisor, axis label): bytes are shown in kB/MB/GB when large."""
    if metric != "bytes":
        return 1.0, AXIS_LABELS.get(metric, metric)
    peak = max(abs(v) for v in values)
    for divisor, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if peak >= divisor:
            return divisor, f"bytes sent [{unit}]"
    return 1.0, "bytes sent [B]"


def unique_labels(labels, directories):
    """Runs that share a label are told apart by their directory name."""
    return [f"{label} ({os.path.basename(os.path.abspath(d))})"
            if labels.count(label) > 1 else label
            for label, d in zip(labels, directories)]


def file_metadata(extension, title, description):
    # PNG and SVG take a free Description; PDF's document information has Subject instead.
    key = "Subject" if extension == ".pdf" else "Description"
    metadata = {key: description}
    if title:
        metadata["Title"] = title
    return metadata


def draw(args):
    extension = os.path.splitext(args.output)[1].lower()
    if extension not in FORMATS:
        raise InputError(f"cannot write the plot to '{args.output}': "
                         f"the file name must end in {', '.join(FORMATS)}")
    runs = [read_series(d, args.x, args.y) for d in args.run_dirs]
    labels = unique_labels([read_label(d) for d in args.run_dirs], args.run_dirs)
    all_x = [v for xs, _ in runs for v in xs]
    all_y = [v for _, ys in runs for v in ys]
    log_y = use_log_scale(args.logy, args.y, all_y)
    x_divisor, x_label = axis_scale(args.x, all_x)
    y_divisor, y_label = axis_scale(args.y, all_y)

    try:
        import matplotlib
    except ImportError as e:
        raise IoFailure(f"{sys.executable} cannot import matplotlib ({e}); "
                        "install Debian's python3-matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: searchable and editable

    fig, ax = plt.subplots(figsize=FIGSIZE_IN)
    for i, ((xs, ys), label) in enumerate(zip(runs, labels)):
        ax.plot([v / x_divisor for v in xs], [v / y_divisor for v in ys],
                marker=MARKERS[i % len(MARKERS)], markersize=4 if len(xs) <= 60 else 2,
                linewidth=1.5, label=label)
    if log_y:
        ax.set_yscale("log")
        # Label some minor ticks too when the data spans under two decades, else the axis
        # may show a single number.
        ax.yaxis.set_minor_formatter(matplotlib.ticker.LogFormatterSciNotation(
            labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        ax.grid(True, which="minor", alpha=0.15)
    ax.grid(True, which="major", alpha=0.5)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if args.title:
        ax.set_title(args.title)
    ax.legend(loc="best", fontsize="small" if len(runs) > 6 else "medium")
    fig.tight_layout()

    description = (f"y={args.y} ({'log' if log_y else 'linear'} scale) against x={args.x}; "
                   f"{len(runs)} runs: {', '.join(labels)}")
    # Written to a temporary name and renamed, so a failure never leaves half a figure.
    directory, name = os.path.split(os.path.abspath(args.output))
    partial = os.path.join(directory, f".{name}.{os.getpid()}.partial")
    try:
        fig.savefig(partial, format=extension[1:], dpi=DPI,
                    metadata=file_metadata(extension, args.title, description))
        os.replace(partial, args.output)
    except OSError as e:
        if os.path.exists(partial):
            os.remove(partial)
        raise IoFailure(f"cannot write '{args.output}': {e.strerror}") from None
    finally:
        plt.close(fig)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="herd plot" if sys.argv[0] == "-c" else None,
        description="Draw one metric of several herd runs against a measure of progress.")
    parser.add_argument("run_dirs", nargs="+", metavar="DIR",
                        help="run directories (each with metrics.jsonl, summary.json)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="figure to write: .png, .pdf or .svg")
    parser.add_argument("--x", default="grads", choices=X_CHOICES,
                        help="horizontal axis (default: grads)")
    parser.add_argument("--y", default="train_loss", metavar="METRIC",
                        help="metric to draw, a key of metrics.jsonl (default: train_loss)")
    parser.add_argument("--title", default="", help="figure title (default: none)")
    parser.add_argument("--logy", default="auto", choices=("auto", "on", "off"),
                        help="log-scale y; auto: on for losses, suboptimality, grad_norm2 and "
                             "consensus when all values are positive (default: auto)")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        draw(args)
    except (InputError, IoFailure) as e:
        print(f"herd plot: error: {e}", file=sys.stderr)
        return e.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
