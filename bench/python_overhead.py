"""The Python module's costs (docs/python.md, "What it costs"):
1. a Python objective against the same objective built in (a quadratic, d = 100): steps per
   second of each, on threads and on the simulator;
2. herd.run of a built-in model against `herd run` of the same configuration, back to back,
   interleaved: seconds of each call (the CLI's including its process start).
    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [REPS]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import herd

HERD = os.environ.get("HERD_BINARY", os.path.join(os.path.dirname(__file__), "..", "build", "herd"))
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
DIM = 100
STEPS = 20000


class Quadratic:
    """F(x) = 1/2 ||x - c||^2, c = (1, ..., 1): the work of the built-in quadratic's gradient."""
    dim = DIM
    data = None

    def __init__(self):
        self.c = np.ones(DIM)

    def initial_point(self):
        return np.zeros(DIM)

    def loss_grad(self, x, batch):
        g = x - self.c
        return 0.5 * float(g @ g), g


def steps_per_second(workers, runtime, objective):
    config = {"algo": {"name": "local_sgd", "workers": workers, "period": 8, "lr": 0.1},
              "stop": {"steps": STEPS}, "eval": {"every": STEPS}, "run": {"runtime": runtime}}
    if objective is None:
        config["model"] = {"name": "quadratic", "dim": DIM, "noise": 0.0}
    rates = []
    for _ in range(3):
        run = herd.run(config, objective=objective)
        rates.append(STEPS / run.summary["wall_seconds"])
    return statistics.median(rates)


def call_seconds(config_path):
    """Per repetition, the CLI then herd.run: the whole call, and the run's own wall_seconds
    (summary.json: the job, without the process start and the planning)."""
    cli, py, cli_job, py_job = [], [], [], []
    for _ in range(REPS):
        out = tempfile.mkdtemp()
        t = time.perf_counter()
        subprocess.run([HERD, "run", config_path, "--out", out, "--force", "run.progress=none"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli.append(time.perf_counter() - t)
        cli_job.append(herd.Run({"dir": out, "label": "", "algorithm": "", "status": "",
                                 "error": "", "stop_reason": "", "parameters": None})
                       .summary["wall_seconds"])
        out = tempfile.mkdtemp()
        t = time.perf_counter()
        run = herd.run(config_path, out=out, force=True)
        py.append(time.perf_counter() - t)
        py_job.append(run.summary["wall_seconds"])
    return cli, py, cli_job, py_job


def process_start_seconds():
    """What starting the herd program costs (its shared libraries, LibTorch's among them)."""
    times = []
    for _ in range(REPS):
        t = time.perf_counter()
        subprocess.run([HERD, "config", "--keys"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return times


def python_call_microseconds():
    f, x = Quadratic(), np.zeros(DIM)
    t = time.perf_counter()
    for _ in range(100000):
        f.loss_grad(x, None)
    return (time.perf_counter() - t) * 10


def spread(xs):
    return "min %.3f  median %.3f  max %.3f" % (min(xs), statistics.median(xs), max(xs))


if __name__ == "__main__":
    print("load:", open("/proc/loadavg").read().split()[:3])
    print("1. steps per second, local_sgd on a quadratic, d = %d, %d steps (median of 3)" % (DIM, STEPS))
    print("   the objective's loss_grad called from Python directly: %.1f us per call"
          % python_call_microseconds())
    for runtime in ("threads", "sim"):
        for workers in (1, 4):
            builtin = steps_per_second(workers, runtime, None)
            python = steps_per_second(workers, runtime, Quadratic())
            print("   %-7s K = %d: built-in %9.0f steps/s, Python objective %8.0f steps/s "
                  "(%.1fx slower; %.1f us per Python gradient)"
                  % (runtime, workers, builtin, python, builtin / python,
                     1e6 / (python * workers) - 1e6 / (builtin * workers)))
    config = os.path.join(tempfile.mkdtemp(), "local_sgd.toml")
    with open(config, "w") as f:
        f.write("""[run]
seed = 1
runtime = "threads"
[data]
format = "synthetic"
synthetic_kind = "logistic"
rows = 20000
test_rows = 5000
features = 50
[model]
name = "logistic"
l2_over_n = 1.0
[algo]
name = "local_sgd"
workers = 8
batch = 16
lr = 0.5
period = 8
[stop]
steps = 3000
[eval]
every = 100
""")
    cli, py, cli_job, py_job = call_seconds(config)
    print("2. examples/quickstart.toml's Local SGD H = 8 run, %d interleaved repetitions:" % REPS)
    print("   the whole call:   herd run (process) %s s" % spread(cli))
    print("                     herd.run (Python)  %s s" % spread(py))
    print("   the run's own wall_seconds: herd run %s s" % spread(cli_job))
    print("                               herd.run %s s" % spread(py_job))
    print("   median ratio herd.run / herd run: whole call %.3f, run %.3f"
          % (statistics.median(py) / statistics.median(cli),
             statistics.median(py_job) / statistics.median(cli_job)))
    print("   starting the herd program (herd config --keys): %s s" % spread(process_start_seconds()))
    print("load:", open("/proc/loadavg").read().split()[:3])
