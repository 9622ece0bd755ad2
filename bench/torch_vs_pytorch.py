"""herd's LibTorch models against PyTorch (docs/performance.md, "LibTorch models against
PyTorch"): LeNet-5 on Fashion-MNIST (1 x 28 x 28), batch 32 drawn with replacement, one
intra-op thread, plain SGD, the same LibTorch (Debian's 1.13: herd links libtorch_cpu.so.1.13,
python3-torch loads the same file). Two comparisons, herd and PyTorch interleaved (the order
alternates every repetition), min / median / max of REPS repetitions:

1. The step (forward, cross-entropy, backward, SGD on the parameters): build/bench/bench_torch_step
   (Google Benchmark; herd's torch oracle + LocalOptimizer on the flat buffers, no job, no
   start-up) and `herd run` with 1 worker (the whole stack; steps / the last metrics row's
   `time`, which excludes the evaluations) against a plain PyTorch loop in this process
   (X[idx], model, cross_entropy, zero_grad, backward, step), each timed for --step-seconds;
   the benchmark and the loop also per second of their thread's CPU time.
2. Local SGD, K = 4 workers (--workers), H = 8 (--period), --local-steps local steps each: `herd run` on the threads
   runtime (loop time: the last metrics row's `time`) against bench/torch_local_sgd_peer.py
   (torch.distributed + gloo + PeriodicModelAverager, 4 processes; loop time between barriers).
   Both train on the first --rows training images (herd: data.split), so that the evaluations
   herd runs at step 0 and at the end stay short; the step's cost does not depend on N.

    /usr/bin/python3 bench/torch_vs_pytorch.py [--reps 5] [--only step|local]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("HERD_BUILD", os.path.join(HERE, "..", "build"))
HERD = os.path.join(BUILD, "herd")
BENCH = os.path.join(BUILD, "bench", "bench_torch_step")
DATA = os.environ.get("HERD_FASHION_DIR", "/usr/share/datasets/fashion-mnist")
IMAGES = os.path.join(DATA, "train-images-idx3-ubyte.gz")
LABELS = os.path.join(DATA, "train-labels-idx1-ubyte.gz")
BATCH, LR = 32, 0.01

sys.path.insert(0, HERE)
from torch_local_sgd_peer import lenet5, load  # noqa: E402  herd's lenet5, written in PyTorch


def pytorch_steps_per_second(X, y, seconds):
    """The plain loop a PyTorch user writes, timed for `seconds` after 20 warm-up steps: steps
    per second of wall-clock time and per second of this thread's CPU time."""
    torch.manual_seed(0)
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    g = torch.Generator().manual_seed(1)
    n = X.shape[0]

    def step():
        idx = torch.randint(n, (BATCH,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    steps, t0, c0 = 0, time.perf_counter(), time.thread_time()
    while True:
        step()
        steps += 1
        t = time.perf_counter() - t0
        if t >= seconds:
            return steps / t, steps / (time.thread_time() - c0)


def bench_steps_per_second(seconds):
    out = subprocess.run([BENCH, f"--benchmark_min_time={seconds}", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    b = json.loads(out)["benchmarks"][0]
    # items_per_second is per second of real time (UseRealTime); cpu_time is the main thread's.
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    return b["items_per_second"], 1.0 / (b["cpu_time"] * scale)


def herd_config(workers, steps, period, rows):
    return f"""[run]
runtime = "threads"
seed = 1
progress = "none"
[data]
format = "idx"
dir = "{DATA}"
train = "train-images-idx3-ubyte.gz"
train_labels = "train-labels-idx1-ubyte.gz"
sampling = "with_replacement"
split = {rows}
[model]
name = "lenet5"
threads = 1
[algo]
name = "local_sgd"
workers = {workers}
batch = {BATCH}
lr = {LR}
period = {period}
[optim]
name = "sgd"
[stop]
steps = {steps}
[eval]
every = {steps}
test = false
"""


def herd_loop_seconds(workers, steps, period, rows):
    """`herd run`'s training time: the last metrics row's `time` (evaluations excluded)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "run.toml")
        with open(path, "w") as f:
            f.write(herd_config(workers, steps, period, rows))
        subprocess.run([HERD, "run", path, "--out", os.path.join(tmp, "out"), "--force"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(tmp, "out", "metrics.jsonl")) as f:
            last = [json.loads(line) for line in f if line.strip()][-1]
        assert last["step"] == steps, last
        return last["time"], last["train_loss"]


def peer_loop_seconds(workers, steps, period, rows):
    out = subprocess.run([sys.executable, os.path.join(HERE, "torch_local_sgd_peer.py"), IMAGES,
                          LABELS, str(rows), str(workers), str(period), str(BATCH), str(LR),
                          str(steps)], check=True, capture_output=True, text=True).stdout
    fields = dict(kv.split("=") for kv in out.split())
    return float(fields["wall_s"]), float(fields["final_loss"])


def load_average():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def mmm(values, fmt="{:.1f}"):
    return " / ".join(fmt.format(v) for v in
                      (min(values), statistics.median(values), max(values)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--step-seconds", type=float, default=5.0)
    ap.add_argument("--run-steps", type=int, default=500, help="herd run, 1 worker: steps")
    ap.add_argument("--local-steps", type=int, default=500, help="Local SGD: steps per worker")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--period", type=int, default=8)
    ap.add_argument("--rows", type=int, default=6000, help="Local SGD: training images used")
    ap.add_argument("--only", choices=["step", "local"])
    a = ap.parse_args()
    for path in (HERD, BENCH, IMAGES):
        if not os.path.exists(path):
            sys.exit(f"missing {path} (build herd with LibTorch; HERD_BUILD, HERD_FASHION_DIR)")
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, load average {load_average()}",
          flush=True)

    if a.only != "local":
        X, y = load(IMAGES, LABELS, None)  # all 60,000 images
        bench, run, py, bench_cpu, py_cpu = [], [], [], [], []
        for r in range(a.reps):
            order = ["bench", "run", "py"] if r % 2 == 0 else ["py", "run", "bench"]
            for what in order:
                if what == "bench":
                    wall, cpu = bench_steps_per_second(a.step_seconds)
                    bench.append(wall)
                    bench_cpu.append(cpu)
                elif what == "run":
                    t, _ = herd_loop_seconds(1, a.run_steps, a.period, a.rows)
                    run.append(a.run_steps / t)
                else:
                    wall, cpu = pytorch_steps_per_second(X, y, a.step_seconds)
                    py.append(wall)
                    py_cpu.append(cpu)
            print(f"  rep {r + 1}: steps/s bench_torch_step {bench[-1]:.1f}, herd run "
                  f"{run[-1]:.1f}, PyTorch {py[-1]:.1f}; per CPU second: bench_torch_step "
                  f"{bench_cpu[-1]:.1f}, PyTorch {py_cpu[-1]:.1f}; load {load_average()}",
                  flush=True)
        ratio = [b / p for b, p in zip(bench, py)]
        ratio_run = [b / p for b, p in zip(run, py)]
        ratio_cpu = [b / p for b, p in zip(bench_cpu, py_cpu)]
        print("\nLeNet-5 step, batch 32, 1 thread (steps / s, min / median / max):")
        print(f"| herd bench_torch_step | {mmm(bench)} |")
        print(f"| herd run, 1 worker | {mmm(run)} |")
        print(f"| PyTorch loop | {mmm(py)} |")
        print(f"| ratio bench_torch_step / PyTorch (per repetition) | {mmm(ratio, '{:.2f}')} |")
        print(f"| ratio herd run / PyTorch (per repetition) | {mmm(ratio_run, '{:.2f}')} |")
        print(f"| per CPU second: bench_torch_step | {mmm(bench_cpu)} |")
        print(f"| per CPU second: PyTorch loop | {mmm(py_cpu)} |")
        print(f"| ratio per CPU second (per repetition) | {mmm(ratio_cpu, '{:.2f}')} |")
        print(f"load average after: {load_average()}\n", flush=True)

    if a.only != "step":
        herd_t, peer_t, herd_f, peer_f = [], [], [], []
        for r in range(a.reps):
            order = ["herd", "peer"] if r % 2 == 0 else ["peer", "herd"]
            for what in order:
                if what == "herd":
                    t, f = herd_loop_seconds(a.workers, a.local_steps, a.period, a.rows)
                    herd_t.append(t)
                    herd_f.append(f)
                else:
                    t, f = peer_loop_seconds(a.workers, a.local_steps, a.period, a.rows)
                    peer_t.append(t)
                    peer_f.append(f)
            print(f"  rep {r + 1}: loop s herd {herd_t[-1]:.2f}, PyTorch peer {peer_t[-1]:.2f}; "
                  f"load {load_average()}", flush=True)
        ratio = [p / h for h, p in zip(herd_t, peer_t)]
        print(f"\nLocal SGD, K = {a.workers}, H = {a.period}, {a.local_steps} steps per worker, "
              f"batch 32 (loop seconds, min / median / max):")
        print(f"| herd run (threads) | {mmm(herd_t, '{:.2f}')} |")
        print(f"| PyTorch peer (gloo) | {mmm(peer_t, '{:.2f}')} |")
        print(f"| loop-time ratio PyTorch / herd (per repetition) | {mmm(ratio, '{:.2f}')} |")
        print(f"final training loss (on the {a.rows} images): herd {mmm(herd_f, '{:.3f}')}, "
              f"PyTorch {mmm(peer_f, '{:.3f}')}")
        print(f"load average after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
