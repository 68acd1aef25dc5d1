"""Data-parallel training with PyTorch DistributedDataParallel (DDP), launched by torchrun.

Every process builds the same model from the same seed and reads the same shuffled
order of training rows; each global batch of ``batch_size`` rows is split across the
processes, which compute their share's gradients and average them (an all-reduce,
gloo on the CPU, NCCL on GPUs) before the identical Adam step. The weights therefore
stay equal in every process, and one update uses as many rows as a single process
would: the same model, trained on the sum of the processes' compute.
The embedding tables' gradients are sparse (the rows a batch looked up); gloo
all-reduces them as they are. NCCL has no sparse all-reduce, so the GPU path is
untested here (no GPU): it would need dense embedding gradients.

``python -m reclearn.distributed`` is the worker; ``reclearn ddp`` (or
:func:`launch`) starts ``torchrun --nproc_per_node=N`` with it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from reclearn.configs import FIXED_EPOCHS
from reclearn.models.torch.recommender import Adam
from reclearn.models.training import check_loss
from reclearn.seeds import Stream, rng

DDP_MODELS = ("mf", "neumf")


class Objective(torch.nn.Module):
    """``network.objective`` as ``forward``: DDP synchronises through ``forward``."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, **batch) -> torch.Tensor:
        return self.network.objective(**batch)


def fit_network_ddp(network, arrays, config, *, device, **_) -> list[dict]:
    """:func:`reclearn.models.torch.recommender.fit_network` across DDP processes.

    Each process takes every ``world``-th row of each global batch (explicit sharding
    of the shared order); DDP averages the gradients. No validation monitor.

    Returns:
        One dict per epoch: ``epoch`` and ``loss`` (averaged over all processes).
    """
    rank, world = dist.get_rank(), dist.get_world_size()
    model = torch.nn.parallel.DistributedDataParallel(Objective(network))
    order_rng = rng(config.seed, Stream.BATCH_ORDER)
    optimizer = Adam(network, config.learning_rate, config.adam_epsilon)
    history, initial = [], None
    for epoch in range(config.epochs):
        now = arrays(epoch) if callable(arrays) else arrays
        tensors = {name: torch.as_tensor(a, device=device) for name, a in now.items()}
        size = len(next(iter(now.values())))
        order = torch.as_tensor(order_rng.permutation(size), device=device)
        total = torch.zeros((), device=device)
        network.train()
        for start in range(0, size, config.batch_size):
            batch = order[start : start + config.batch_size][rank::world]
            loss = model(**{name: t[batch] for name, t in tensors.items()})
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)
            initial = float(loss.detach()) if initial is None else initial
        dist.all_reduce(total)
        network.eval()
        record = {"epoch": epoch + 1, "loss": float(total) / size}
        check_loss(epoch + 1, record["loss"], initial, config)
        history.append(record)
    return history


def train(args: argparse.Namespace) -> dict:
    """One worker: fit on the leave-last-out split, rank 0 evaluates; a result row."""
    from reclearn import build, load_dataset, make_synthetic
    from reclearn.evaluate import evaluate_ranking
    from reclearn.metrics import rmse
    from reclearn.split import leave_last_out
    from reclearn.stats import bootstrap_ci

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)
    if args.dataset == "synthetic":
        ratings = make_synthetic(
            args.users, args.items, density=args.density, seed=args.seed
        ).ratings
    else:
        ratings = load_dataset(args.dataset).ratings
    train_rows, test = leave_last_out(ratings, seed=args.seed)
    options = {"epochs": args.epochs, "seed": args.seed, "verbose": False} | FIXED_EPOCHS
    model = build(args.model, **options)
    if world > 1:
        model._fit_network = _ddp_fit_network(model)
    start = time.perf_counter()
    model.fit(train_rows)
    fit_s = time.perf_counter() - start
    dist.barrier()
    row = {"processes": world, "backend": backend, "model": args.model, "fit_s": fit_s}
    if rank == 0:
        row["rmse"] = float(rmse(model.predict(test), test["rating"]))
        per_user = evaluate_ranking(model, train_rows, test).per_user["ndcg@10"]
        row["ndcg@10"], row["ndcg_low"], row["ndcg_high"] = bootstrap_ci(per_user)
        row["ndcg_per_user"] = per_user.tolist()
        row["final_loss"] = model.history[-1]["loss"]
    dist.destroy_process_group()
    return row


def _ddp_fit_network(model):
    """A ``_fit_network`` for ``model`` that trains through :func:`fit_network_ddp`."""

    def fit(network, arrays, config, monitor=None, callback=None, desc=""):
        return fit_network_ddp(network, arrays, config, device=model.device)

    return fit


def launch(
    nproc: int = 2,
    *,
    model: str = "mf",
    dataset: str = "ml-latest-small",
    epochs: int = 10,
    seed: int = 0,
    users: int = 500,
    items: int = 400,
    density: float = 0.1,
    timeout: float | None = None,
) -> dict:
    """Run ``torchrun --nproc_per_node=nproc -m reclearn.distributed`` and read its row.

    Args:
        nproc: Processes (1 runs the ordinary single-process loop under torchrun).
        model: ``"mf"`` or ``"neumf"``.
        dataset: A data set name, or ``"synthetic"`` (``users``, ``items``, ``density``).
        epochs, seed: Training options.
        timeout: Seconds before the run is stopped.

    Returns:
        ``processes``, ``backend``, ``model``, ``fit_s``, ``rmse``, ``ndcg@10`` with
        its bootstrap interval (``ndcg_low``, ``ndcg_high``) and per-user values
        (``ndcg_per_user``, in user order) and ``final_loss`` on the leave-last-out
        split.

    Raises:
        ValueError: An unknown model or ``nproc < 1``.
        RuntimeError: torchrun failed (its error output is included).

    Introduced in chapter "Scaling out".
    """
    if model not in DDP_MODELS:
        raise ValueError(f"unknown model {model!r} for DDP; use one of {DDP_MODELS}")
    if not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be an integer >= 1, got {nproc!r}")
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"reclearn-ddp-{os.getpid()}.json"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "reclearn.distributed",
        "--model",
        model,
        "--dataset",
        dataset,
        "--epochs",
        str(epochs),
        "--seed",
        str(seed),
        "--users",
        str(users),
        "--items",
        str(items),
        "--density",
        str(density),
        "--out",
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"torchrun with {nproc} processes failed:\n{done.stderr[-3000:]}")
    row = json.loads(out.read_text())
    out.unlink()
    return row


def main(argv: list[str] | None = None) -> None:
    """The worker's command line (torchrun runs one per process)."""
    parser = argparse.ArgumentParser(prog="python -m reclearn.distributed")
    parser.add_argument("--model", default="mf", choices=DDP_MODELS)
    parser.add_argument("--dataset", default="ml-latest-small")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--density", type=float, default=0.1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    row = train(args)
    if "rmse" in row:
        args.out.write_text(json.dumps(row))


if __name__ == "__main__":
    main()
