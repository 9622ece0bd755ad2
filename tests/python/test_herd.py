"""Tests of the Python module herd (docs/python.md), one ctest test per function:
    PYTHONPATH=build/python HERD_BINARY=build/herd /usr/bin/python3 tests/python/test_herd.py NAME
Each test asserts numbers: bit-equality with the CLI's files, distances to known optima."""
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import numpy as np

import herd

HERD = os.environ["HERD_BINARY"]
# Run only by their wall-clock nature: these fields differ between two runs of one config.
WALL_CLOCK = {"time", "wall_time", "eval_seconds", "wall_seconds"}

LOCAL_SGD = """
[run]
seed = 7
runtime = "threads"
[data]
format = "synthetic"
synthetic_kind = "logistic"
rows = 2000
test_rows = 500
features = 20
[model]
name = "logistic"
l2_over_n = 1.0
[algo]
name = "local_sgd"
workers = 4
batch = 8
lr = 0.5
period = 4
[stop]
steps = 200
[eval]
every = 20
"""


def tmp():
    return tempfile.mkdtemp(prefix="herd-test-")


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def same(a, b):
    """Bit for bit: equal numbers (NaN equals NaN), equal text."""
    if isinstance(a, float) or isinstance(b, float):
        a, b = float("nan") if a is None else a, float("nan") if b is None else b
        return (math.isnan(a) and math.isnan(b)) or (a == b and
                                                     math.copysign(1, a) == math.copysign(1, b))
    return a == b


def assert_metrics_equal_cli(run, cli_dir):
    rows = read_jsonl(os.path.join(cli_dir, "metrics.jsonl"))
    assert len(rows) > 0
    keys = [k for k in rows[0] if k not in WALL_CLOCK]
    assert set(keys) <= set(run.metrics), (keys, list(run.metrics))
    compared = 0
    for key in keys:
        column = run.metrics[key]
        assert len(column) == len(rows), (key, len(column), len(rows))
        for i, row in enumerate(rows):
            value = column[i]
            value = value.item() if hasattr(value, "item") else value
            assert same(value, row.get(key)), (key, i, value, row.get(key))
            compared += 1
    return compared


def test_bit_equal_cli():
    config = os.path.join(tmp(), "local_sgd.toml")
    with open(config, "w") as f:
        f.write(LOCAL_SGD)
    cli_dir = os.path.join(tmp(), "cli")
    subprocess.run([HERD, "run", config, "--out", cli_dir], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = herd.run(config, out=os.path.join(tmp(), "py"))
    assert run.status == "ok" and run.algorithm == "local_sgd"
    assert isinstance(run.metrics["train_loss"], np.ndarray)
    assert run.metrics["step"].dtype == np.int64
    assert list(run.metrics["step"]) == list(range(0, 201, 20))
    compared = assert_metrics_equal_cli(run, cli_dir)
    # The final parameters: their CRC-32 is the CLI's fingerprint, bit for bit.
    cli_summary = json.load(open(os.path.join(cli_dir, "summary.json")))
    assert run.parameters.dtype == np.float32 and run.parameters.shape == (20,)
    assert "%08x" % zlib.crc32(run.parameters.tobytes()) == cli_summary["parameters_crc32"]
    assert run.summary["parameters_crc32"] == cli_summary["parameters_crc32"]
    assert same(run.summary["final"]["train_loss"], cli_summary["final"]["train_loss"])
    # The same configuration as a TOML string and as a dict gives the same rows again.
    as_text = herd.run(LOCAL_SGD, out=os.path.join(tmp(), "text"))
    as_dict = herd.run({
        "run": {"seed": 7, "runtime": "threads"},
        "data": {"format": "synthetic", "synthetic_kind": "logistic", "rows": 2000,
                 "test_rows": 500, "features": 20},
        "model": {"name": "logistic", "l2_over_n": 1.0},
        "algo": {"name": "local_sgd", "workers": 4, "batch": 8, "lr": 0.5, "period": 4},
        "stop.steps": 200, "eval": {"every": np.int64(20)}}, out=os.path.join(tmp(), "dict"))
    assert_metrics_equal_cli(as_text, cli_dir)
    assert_metrics_equal_cli(as_dict, cli_dir)
    # Overrides, as a list or a dict, as `herd run CONFIG key=value` takes them.
    cli_dir2 = os.path.join(tmp(), "cli2")
    subprocess.run([HERD, "run", config, "algo.period=8", "run.runtime=sim", "--out", cli_dir2],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with_overrides = herd.run(config, overrides={"algo.period": 8, "run.runtime": "sim"})
    # On the simulator time is virtual: every field is compared, time included.
    rows = read_jsonl(os.path.join(cli_dir2, "metrics.jsonl"))
    assert all(same(with_overrides.metrics["time"][i].item(), r["time"]) for i, r in enumerate(rows))
    assert_metrics_equal_cli(with_overrides, cli_dir2)
    frame = run.to_pandas()
    assert frame.shape[0] == 11 and frame["train_loss"].iloc[-1] == run.metrics["train_loss"][-1]
    print("bit-equal: %d values compared with the CLI's metrics.jsonl; parameters crc %s"
          % (compared, cli_summary["parameters_crc32"]))


class Quadratic:
    """F(x) = mean_i 1/2 ||x - a_i||^2 over the rows a_i of data: x* = mean(a)."""

    def __init__(self, dim=10, rows=400, seed=3):
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.data = rng.normal(1.0, 1.0, size=(rows, dim))
        self.optimum_point = self.data.mean(axis=0)
        self.optimum_value = self.loss_grad(self.optimum_point, self.data)[0]
        self.mu = self.L = 1.0

    def initial_point(self):
        return np.zeros(self.dim)

    def loss_grad(self, x, batch):
        diff = x - batch
        return 0.5 * float(np.mean(np.sum(diff * diff, axis=1))), diff.mean(axis=0)


OBJECTIVE_RUN = {"algo": {"workers": 4, "batch": 16, "lr": 0.2, "schedule": "step",
                          "decay_every": 100, "decay_factor": 0.5},
                 "stop": {"steps": 600}, "eval": {"every": 100}, "run": {"seed": 1}}


def train_to_optimum(runtime, **algo):
    """The quadratic through herd: at its optimum, to within the minibatch noise."""
    f = Quadratic()
    config = dict(OBJECTIVE_RUN, algo=dict(OBJECTIVE_RUN["algo"], **algo),
                  run={"seed": 1, "runtime": runtime})
    run = herd.run(config, objective=f)
    d = float(np.linalg.norm(run.parameters.astype(np.float64) - f.optimum_point))
    sub = run.metrics["suboptimality"]
    print("%s on %s: ||x - x*|| = %.2e, suboptimality %.2e -> %.2e"
          % (algo["name"], runtime, d, sub[0], sub[-1]))
    assert run.summary["status"] == "ok" and run.summary["algorithm"] == algo["name"]
    assert sub[0] > 1.0 and sub[-1] < 1e-3 and d < 0.05, (sub, d)
    return config, run


def test_objective_local_sgd_threads():
    train_to_optimum("threads", name="local_sgd", period=4)


def test_objective_asgd_sim():
    config, run = train_to_optimum("sim", name="asgd", batch=64)
    # Deterministic: the simulator gives the same run again, bit for bit.
    again = herd.run(config, objective=Quadratic())
    assert np.array_equal(again.parameters, run.parameters)


# The algorithms whose run does not depend on the threads' schedule.
SYNCHRONOUS = {"minibatch_sgd", "local_sgd", "fedprox", "easgd", "eamsgd", "lsgd"}


def test_every_algorithm():
    """Every algorithm trains the Python objective on threads and on the simulator: tenfold
    where the run is exact (the simulator, synchronous methods on threads); an asynchronous
    method on threads depends on the schedule (a loaded machine can leave one worker's entry
    of IA2SGD's table very stale), so there it only has to improve."""
    for runtime in ("threads", "sim"):
        for name in herd.algorithms():
            algo = {"name": name, "workers": 4, "batch": 16, "lr": 0.1}
            if name == "rescaled_asgd":
                algo["rescale_tau"] = "estimated"  # no cluster.compute_times here
            run = herd.run({"algo": algo, "stop": {"steps": 300}, "eval": {"every": 100},
                            "run": {"runtime": runtime, "seed": 1}}, objective=Quadratic())
            sub = run.metrics["suboptimality"]
            print("%-7s %-20s suboptimality %.2e -> %.2e" % (runtime, name, sub[0], sub[-1]))
            exact = runtime == "sim" or name in SYNCHRONOUS
            assert run.status == "ok" and sub[-1] < sub[0] / (10 if exact else 1), (runtime, name, sub)


def expect(error_type, fn, *fragments):
    try:
        fn()
    except error_type as e:
        message = str(e)
        for fragment in fragments:
            assert fragment in message, (fragment, message)
        return message
    raise AssertionError("no %s" % error_type.__name__)


def test_bad_input():
    # An unknown key, a wrong type: herd's own messages, those of the same TOML file.
    msg = expect(herd.InvalidInput, lambda: herd.run({"algo": {"nme": "local_sgd"}}),
                 "<dict>", "unknown key algo.nme", "did you mean algo.name")
    path = os.path.join(tmp(), "bad.toml")
    with open(path, "w") as f:
        f.write("[algo]\nnme = \"local_sgd\"\n")
    cli = subprocess.run([HERD, "run", path, "--out", os.path.join(tmp(), "x")],
                         capture_output=True, text=True)
    assert cli.returncode == 2 and msg.split("<dict>: ")[1] in cli.stderr, (msg, cli.stderr)
    expect(herd.InvalidInput, lambda: herd.run({"algo": {"lr": "fast"}}), "algo.lr")
    expect(herd.InvalidInput, lambda: herd.run({"algo": {"lr": None}}), "algo.lr", "NoneType")
    expect(herd.InvalidInput, lambda: herd.run({"nosuch": {"x": 1}}), "unknown section")
    expect(herd.InvalidInput, lambda: herd.run(LOCAL_SGD, overrides=["algo.workers=0"]),
           "algo.workers")
    expect(ValueError, lambda: herd.run({"algo": {"lr": -1}}), "algo.lr")  # InvalidInput is one
    expect(herd.InvalidInput, lambda: herd.run("/nonexistent/config.toml"), "does not exist")
    assert issubclass(herd.Diverged, herd.Error) and issubclass(herd.IoError, herd.Error)

    # An objective whose gradient has the wrong shape.
    class WrongShape(Quadratic):
        def loss_grad(self, x, batch):
            return 1.0, np.zeros(3)
    out = os.path.join(tmp(), "wrong_shape")
    expect(herd.InvalidInput, lambda: herd.run(OBJECTIVE_RUN, objective=WrongShape(), out=out),
           "gradient", "shape (3,)", "(10,)")
    assert json.load(open(os.path.join(out, "summary.json")))["status"] == "failed"

    class NoDim:
        def initial_point(self):
            return np.zeros(2)
    expect(herd.InvalidInput, lambda: herd.run(OBJECTIVE_RUN, objective=NoDim()), "no dim")

    # A Python exception inside the objective ends the run with that exception; the record is
    # whole: complete metrics rows, a summary saying why, no temporary file.
    class Raises(Quadratic):
        calls = 0

        def loss_grad(self, x, batch):
            Raises.calls += 1
            if Raises.calls > 150:
                raise ZeroDivisionError("objective failed on purpose")
            return super().loss_grad(x, batch)
    for runtime in ("threads", "sim"):
        Raises.calls = 0
        out = os.path.join(tmp(), "raises_" + runtime)
        config = dict(OBJECTIVE_RUN, algo=dict(OBJECTIVE_RUN["algo"], name="local_sgd"),
                      run={"seed": 1, "runtime": runtime}, eval={"every": 10})
        expect(ZeroDivisionError, lambda: herd.run(config, objective=Raises(), out=out),
               "objective failed on purpose")
        summary = json.load(open(os.path.join(out, "summary.json")))
        assert summary["status"] == "failed" and "ZeroDivisionError" in summary["error"], summary
        rows = read_jsonl(os.path.join(out, "metrics.jsonl"))
        assert len(rows) >= 2 and rows[-1]["step"] < 600
        # (.herd.lock: the run's lock, as every run directory has it.)
        assert sorted(os.listdir(out)) == [".herd.lock", "config.toml", "metrics.jsonl",
                                           "summary.json"], os.listdir(out)
    print("bad input: messages as herd's, e.g. %r" % msg)


def test_interrupt_and_gil():
    # While herd runs, other Python threads run (the GIL is released), and SIGINT stops the
    # run at its next evaluation: KeyboardInterrupt, with the run's record whole.
    config = dict(json.loads(json.dumps({"algo": {"name": "local_sgd", "workers": 2}})),
                  model={"name": "quadratic", "dim": 100}, stop={"steps": 10 ** 9},
                  eval={"every": 50}, run={"runtime": "threads"})
    ticks = [0]
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks[0] += 1
            time.sleep(0.001)
    counter = threading.Thread(target=count)
    counter.start()
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    out = os.path.join(tmp(), "interrupted")
    started = time.monotonic()
    try:
        herd.run(config, out=out)
        raise AssertionError("no KeyboardInterrupt")
    except KeyboardInterrupt:
        pass
    finally:
        done.set()
        counter.join()
    took = time.monotonic() - started
    summary = json.load(open(os.path.join(out, "summary.json")))
    assert summary["status"] == "interrupted" and summary["stop_reason"] == "interrupted", summary
    assert took < 30, took
    assert ticks[0] > 100, ticks  # the counter ran while herd did
    # Python's own Ctrl-C handling is back afterwards.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    print("interrupted after %.1f s at step %d; another thread ticked %d times meanwhile"
          % (took, summary["final"]["step"], ticks[0]))


def test_compare_and_sweep():
    text = LOCAL_SGD.replace('name = "local_sgd"\n', "") + """
[[compare]]
label = "minibatch"
algo = { name = "minibatch_sgd" }
[[compare]]
label = "local"
algo = { name = "local_sgd" }
"""
    out = os.path.join(tmp(), "compare")
    runs = herd.compare(text, out=out)
    assert list(runs) == ["minibatch", "local"]
    assert runs["local"].dir == os.path.join(out, "local")
    assert runs["minibatch"].metrics["rounds"][-1] == 200
    assert runs["local"].metrics["rounds"][-1] == 50
    # herd.run refuses a comparison before anything runs, and runs one entry when named.
    refused = os.path.join(tmp(), "refused")
    expect(herd.InvalidInput, lambda: herd.run(text, out=refused), "2 [[compare]] entries",
           "herd.compare")
    assert not os.path.exists(refused)
    one = herd.run(text, entry="local", overrides=["algo.period=8"])
    assert one.label == "local" and one.metrics["rounds"][-1] == 25
    table = herd.sweep(LOCAL_SGD, {"algo.period": [2, 8]}, os.path.join(tmp(), "sweep"),
                       overrides={"stop.steps": 64})
    assert list(table["algo.period"]) == [2, 8] and list(table["status"]) == ["ok", "ok"], table
    assert list(table["rounds"]) == [32, 8], table
    print(table[["algo.period", "rounds", "train_loss"]])


if __name__ == "__main__":
    globals()["test_" + sys.argv[1]]()
