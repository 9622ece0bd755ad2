"""herd from Python: run, compare and sweep herd's distributed SGD algorithms, read their
metrics as numpy arrays (or a pandas DataFrame), and train objectives written in Python.

    import herd
    run = herd.run("examples/quickstart.toml", overrides=["algo.workers=4"])
    run.metrics["train_loss"]      # numpy array, one value per evaluation
    run.summary["final"]           # summary.json as a dict
    run.parameters                 # rank 0's final parameters (numpy float32)

Every run goes through herd's own driver and writes the same run directory as `herd run`
(config.toml, metrics.jsonl, summary.json); what Python gets is read back from it. See
docs/python.md.
"""
import json
import os
import shutil
import tempfile

from . import _herd
from ._herd import CommError, Diverged, Error, InvalidInput, IoError

__all__ = ["run", "compare", "sweep", "check", "Run", "algorithms", "models",
           "Error", "InvalidInput", "IoError", "CommError", "Diverged"]

# The herd program beside this module: in the build tree (BUILD/python/herd -> BUILD/herd) or
# installed (PREFIX/lib/python3/dist-packages/herd -> PREFIX/bin/herd). herd.sweep runs it.
_HERE = os.path.dirname(os.path.abspath(__file__))
_BESIDE = [os.path.join(_HERE, "..", "..", "herd"),
           os.path.join(_HERE, "..", "..", "..", "..", "bin", "herd")]


def algorithms():
    """The algorithm names (algo.name's choices), in documented order."""
    return _herd.algorithms()


def models():
    """The model names (model.name's choices); "python" is the objective of herd.run(objective=)."""
    return _herd.models()


def _source(config):
    """(kind, source) for the C++ side: a path, a TOML text or a nested dict."""
    if isinstance(config, dict):
        return "dict", config
    if isinstance(config, os.PathLike):
        return "file", os.fspath(config)
    if isinstance(config, str):
        # TOML text has a newline or an assignment; a path has neither.
        if "\n" in config or "=" in config:
            return "text", config
        return "file", config
    raise TypeError("config must be a path, a TOML string or a dict, not %s"
                    % type(config).__name__)


def _overrides(overrides):
    """key=value strings from a list of them or a dict {key: value}."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return ["%s=%s" % (k, _text(v)) for k, v in overrides.items()]
    if isinstance(overrides, str):
        return [overrides]
    return [str(o) for o in overrides]


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Run:
    """One finished run: its directory and what it holds.

    metrics     dict of numpy arrays, one entry per metrics.jsonl field (int64 for counters,
                float64 with NaN where a row has no value, a list for text fields)
    summary     summary.json as a dict
    parameters  rank 0's final parameters (numpy float32; empty for a run read back)
    """

    def __init__(self, result):
        self.dir = result["dir"]
        self.label = result["label"]
        self.algorithm = result["algorithm"]
        self.status = result["status"]
        self.error = result["error"]
        self.stop_reason = result["stop_reason"]
        self.parameters = result["parameters"]
        self._metrics = None
        self._summary = None

    @property
    def metrics(self):
        if self._metrics is None:
            self._metrics = _herd.metrics_columns(os.path.join(self.dir, "metrics.jsonl"))
        return self._metrics

    @property
    def summary(self):
        if self._summary is None:
            with open(os.path.join(self.dir, "summary.json")) as f:
                self._summary = json.load(f)
        return self._summary

    def to_pandas(self):
        """The metrics as a pandas DataFrame, one row per evaluation (needs pandas)."""
        import pandas
        return pandas.DataFrame(self.metrics)

    def __repr__(self):
        return "herd.Run(%r, %s, %s, dir=%r)" % (self.label, self.algorithm, self.status, self.dir)


def _out_dir(out, prefix):
    return os.fspath(out) if out is not None else tempfile.mkdtemp(prefix=prefix)


def run(config, overrides=None, out=None, *, objective=None, entry="", force=False, label="",
        progress=False):
    """Runs one configuration (a path, a TOML string or a nested dict) and returns its Run.

    overrides: ["algo.lr=0.1", ...] or {"algo.lr": 0.1}, applied after the configuration.
    out: the run directory (default: a fresh temporary directory); force replaces an earlier
    run there. objective: an object with dim, initial_point(), loss_grad(x, batch) and
    optionally data: the run trains it (model.name "python", docs/python.md). A configuration
    with [[compare]] entries is refused: herd.compare runs them, and entry=LABEL runs one
    (as herd run --entry: the overrides win over the entry's settings).

    Errors raise herd.InvalidInput, IoError, CommError or Diverged with herd's message; an
    exception raised by the objective ends the run and is raised again here. Ctrl-C stops the
    run at its next evaluation (its record kept) and raises KeyboardInterrupt.
    """
    kind, source = _source(config)
    results = _herd.run_configuration(kind, source, _overrides(overrides),
                                      _out_dir(out, "herd-run-"), force, label or entry,
                                      objective, progress, entry, True)
    return Run(results[0])


def compare(config, overrides=None, out=None, *, objective=None, force=False, progress=False):
    """Runs every [[compare]] entry of the configuration, as `herd run` does, into
    out/<slug of label>; returns {label: Run} in the entries' order."""
    kind, source = _source(config)
    results = _herd.run_configuration(kind, source, _overrides(overrides),
                                      _out_dir(out, "herd-compare-"), force, "", objective,
                                      progress, "", False)
    return {r["label"]: Run(r) for r in results}


def check(config, overrides=None):
    """Checks a configuration as `herd run` does before it runs (InvalidInput when it is
    refused) and returns it resolved, as TOML."""
    kind, source = _source(config)
    return _herd.check_config(kind, source, _overrides(overrides))


def _herd_binary(herd_binary):
    for candidate in [herd_binary, os.environ.get("HERD_BINARY")] + _BESIDE + [shutil.which("herd")]:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise IoError("herd.sweep runs the herd program: none found (give herd_binary= or set "
                  "HERD_BINARY)")


def sweep(config, axes, out, *, overrides=None, seeds=None, zip=False, jobs=0, herd_binary=None):
    """`herd sweep`: the configuration over the product (or zip) of axes {key: [values]} and
    seeds (run.seed = 1..seeds when an int, or a list), each point a herd process in
    out/runs/...; resumable. Returns sweep.csv's columns: a pandas DataFrame when pandas is
    installed, else a dict of numpy arrays and lists."""
    kind, source = _source(config)
    path = source
    if kind != "file":  # the runs are processes: they read the configuration from a file
        path = os.path.join(tempfile.mkdtemp(prefix="herd-sweep-"), "config.toml")
        with open(path, "w") as f:
            f.write(_herd.check_config(kind, source, []))
    if seeds is None:
        seeds = []
    elif isinstance(seeds, int):
        seeds = list(range(1, seeds + 1))
    table = _herd.sweep(os.path.abspath(path),
                        [(k, [_text(v) for v in vs]) for k, vs in axes.items()],
                        _overrides(overrides), list(seeds), zip, os.fspath(out), jobs,
                        _herd_binary(herd_binary))
    try:
        import pandas
    except ImportError:
        return table
    return pandas.DataFrame(table)
