"""Peer baseline for herd's LibTorch models: Local SGD of LeNet-5 on the first N images of an
IDX file (Fashion-MNIST), as a PyTorch user would write it. It is the algorithm of
../shared/peers/torch_local_sgd_mlp.py (torch.distributed + gloo, PeriodicModelAverager, one
intra-op thread per process, every rank from the same x_0, its shard arange(rank, N, K),
batches drawn with replacement, cross-entropy, plain SGD; the loop timed between barriers)
with herd's lenet5 in place of the MLP: conv 5x5 (1 -> 6, padding 2), ReLU, max pool 2, conv
5x5 (6 -> 16), ReLU, max pool 2, linear 400 -> 120 -> 84 -> 10 with ReLU; He normal weights,
zero biases (herd's initialisation, drawn from torch's generator).
Usage: /usr/bin/python3 bench/torch_local_sgd_peer.py IMAGES.gz LABELS.gz N K H B LR STEPS
Prints wall_s (the timed loop), then the averaged model's training loss and accuracy."""
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.distributed.algorithms.model_averaging.averagers import PeriodicModelAverager


def load(images, labels, n):
    with gzip.open(images, "rb") as f:
        img = np.frombuffer(f.read(), np.uint8, offset=16)
    with gzip.open(labels, "rb") as f:
        lab = np.frombuffer(f.read(), np.uint8, offset=8)
    X = torch.from_numpy(img.reshape(-1, 1, 28, 28)[:n].astype(np.float32) / 255.0)
    return X, torch.from_numpy(lab[:n].astype(np.int64))


def lenet5(classes=10):
    """herd's lenet5 (src/herd/model/torch/torch_problem.cpp) for 1 x 28 x 28 images."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, classes))
    for m in model:
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    return model


def worker(rank, K, X, y, H, B, lr, steps, port, out):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=K)
    n = X.shape[0]
    shard = torch.arange(rank, n, K)
    seed = int(os.environ.get("PEER_SEED", "0"))
    torch.manual_seed(seed)  # same x_0 on every rank
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    avg = PeriodicModelAverager(period=H, warmup_steps=0)
    g = torch.Generator().manual_seed(rank + 1000 * seed)
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        idx = shard[torch.randint(len(shard), (B,), generator=g)]
        loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        avg.average_parameters(model.parameters())
    dist.barrier()
    t = time.perf_counter() - t0
    with torch.no_grad():
        for p in model.parameters():
            dist.all_reduce(p.data)
            p.data /= K
        if rank == 0:
            logits = model(X)
            f = torch.nn.functional.cross_entropy(logits, y)
            acc = (logits.argmax(1) == y).float().mean()
            out.put((t, f.item(), acc.item()))
    dist.destroy_process_group()


if __name__ == "__main__":
    images, labels = sys.argv[1], sys.argv[2]
    N, K, H, B = map(int, sys.argv[3:7])
    lr, steps = float(sys.argv[7]), int(sys.argv[8])
    X, y = load(images, labels, N)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    mp.start_processes(worker, args=(K, X, y, H, B, lr, steps, 29500 + os.getpid() % 1000, q),
                       nprocs=K, start_method="spawn")
    t, f, acc = q.get()
    print(f"wall_s={t:.3f} steps={steps} K={K} H={H} B={B} final_loss={f:.6f} train_acc={acc:.4f}")
