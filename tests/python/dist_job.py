"""One rank of the distributed tests (tests/python/test_distributed.py starts one process per rank,
as torchrun would: RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT in the environment).

    python dist_job.py <train|invariance> <output folder>

Each rank writes what it saw to <output folder>/rank<r>.pt for the test to compare."""

import os
import random
import sys

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler, get_worker_info

import rblock

SEED = 42


class Augmented(Dataset):
    """Fixed data augmented per sample inside the block ("augment", epoch, index): an augmented
    sample depends on (initial seed, epoch, index) only, whichever rank or worker loads it."""

    def __init__(self, n=24):
        self.data = torch.arange(n * 3, dtype=torch.float64).reshape(n, 3)
        self.epoch = 0

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        with rblock.block(("augment", self.epoch, index)):
            x = self.data[index] + torch.randn(3, dtype=torch.float64)
            x = x * random.uniform(0.5, 1.5) + float(np.random.standard_normal())
        return index, x


def augmented_samples(world, rank, workers, epochs=2):
    """{(epoch, index): augmented sample} that this rank loads through DistributedSampler."""
    dataset = Augmented()
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=7)
    loader = DataLoader(dataset, batch_size=3, sampler=sampler, num_workers=workers,
                        worker_init_fn=rblock.worker_init_fn)
    out = {}
    for epoch in range(epochs):
        dataset.epoch = epoch
        sampler.set_epoch(epoch)
        for indices, xs in loader:
            for index, x in zip(indices.tolist(), xs):
                out[(epoch, index)] = x.clone()
    return out


class WorkerDraws(Dataset):
    """What each worker draws from torch, random and NumPy, as worker_init_fn seeded them."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        draws = torch.rand(2, dtype=torch.float64), random.random(), np.random.rand()
        return (get_worker_info().id, *draws)


def worker_streams():
    """{worker: first draws} of a 2-worker DataLoader iterated in a replicated block."""
    loader = DataLoader(WorkerDraws(), batch_size=1, num_workers=2,
                        worker_init_fn=rblock.worker_init_fn)
    with rblock.block(("loader",)):  # the same DataLoader base seed on every rank
        batches = list(loader)
    out = {}
    for worker, t, r, n in batches:
        out.setdefault(int(worker), (t[0].clone(), float(r), float(n)))
    return out


def train(rank):
    """A DDP toy model with dropout: equal initial weights without a broadcast, dropout masks per
    rank (per_rank blocks), and what the training ends with."""
    with rblock.block(("model",)):
        net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                  torch.nn.Linear(16, 1)).double()
    initial = [p.detach().clone() for p in net.parameters()]
    ddp = torch.nn.parallel.DistributedDataParallel(net)
    with rblock.block(("data",)):
        x, y = torch.randn(32, 6, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    dataset = torch.utils.data.TensorDataset(x, y)
    sampler = DistributedSampler(dataset, shuffle=True, seed=3)
    loader = DataLoader(dataset, batch_size=4, sampler=sampler)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
    probes = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for step, (xb, yb) in enumerate(loader):
            with rblock.block(("dropout", epoch, step), per_rank=True):
                probes.append(torch.rand(4, dtype=torch.float64))  # what this rank's block draws
                loss = ((ddp(xb) - yb) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return {"initial": initial, "final": [p.detach().clone() for p in net.parameters()],
            "probes": torch.stack(probes), "loss": loss.item()}


def compiled_training(compiled):
    """The DDP toy model trained in per-rank philox blocks, its step compiled by Inductor or eager:
    the final weights (compiled draws equal eager draws, Note [Random ops under torch.compile])."""
    with rblock.block(("model",)):
        net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                  torch.nn.Linear(16, 1)).double()
    ddp = torch.nn.parallel.DistributedDataParallel(net)
    model = torch.compile(ddp) if compiled else ddp
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
    with rblock.block(("data",)):
        x, y = torch.randn(8, 6, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
    for step in range(3):
        with rblock.block(("dropout", step), per_rank=True, engine="philox"):
            loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return [p.detach().clone() for p in net.parameters()]


def refusal(odd_rank):
    """check_consistent's message when `odd_rank` runs with another seed (then it passes again)."""
    if dist.get_rank() == odd_rank:
        rblock.set_seed(SEED + 1)
    try:
        rblock.check_consistent()
    except rblock.Error as e:
        message = str(e)
    else:
        message = None
    rblock.set_seed(SEED)
    rblock.check_consistent()
    return message


def group_blocks(rank):
    """A per_rank block of the group of global ranks 1 and 2 (as a tensor-parallel group): its key
    on each member (the rank in the group), or the error on rank 0, which is not in it."""
    group = dist.new_group([1, 2])  # every rank takes part in creating it
    try:
        with rblock.block(7, per_rank=True, group=group):
            key = torch.initial_seed()
    except rblock.Error as e:
        return str(e)
    rblock.check_consistent(group=group)
    return key


def block_refusal(odd_rank):
    """check_consistent's message when `odd_rank` has another block open."""
    with rblock.block(("step", 2 if dist.get_rank() == odd_rank else 1)):
        try:
            rblock.check_consistent()
        except rblock.Error as e:
            return str(e)
    return None


def conflicting_rank(rank, world):
    """The error of a per_rank block when rblock.set_rank disagrees with torch.distributed (then,
    agreeing, it works)."""
    rblock.set_rank((rank + 1) % world, world)
    try:
        with rblock.block(7, per_rank=True):
            pass
    except rblock.Error as e:
        message = str(e)
    else:
        message = None
    rblock.set_rank(rank, world)
    with rblock.block(7, per_rank=True):
        key = rblock._C.rank_key(rblock._C.derive_key(SEED, 7), rank)
        assert torch.initial_seed() == rblock._C.engine_mark(key, rblock._C.Engine.torch)
    return message


def main():
    scenario, folder = sys.argv[1], sys.argv[2]
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    rblock.set_seed(SEED)
    out = {"rank": rank}
    # Before torch.distributed: the rank comes from RANK and WORLD_SIZE.
    with rblock.block(7, per_rank=True):
        out["key_from_environment"] = torch.initial_seed()
    dist.init_process_group("gloo")
    try:
        with rblock.block(7, per_rank=True):
            out["key_from_distributed"] = torch.initial_seed()
        rblock.check_consistent()
        if scenario == "train":
            out["train"] = train(rank)
            out["compiled"] = {c: compiled_training(c) for c in (False, True)}
            out["workers"] = worker_streams()
            out["samples"] = augmented_samples(world, rank, workers=2)
        else:
            out["samples"] = augmented_samples(world, rank, workers=1)
            out["group"] = group_blocks(rank)
            out["conflict"] = conflicting_rank(rank, world)
            out["block_refusal"] = block_refusal(odd_rank=1)
        out["refusal"] = refusal(odd_rank=world - 1)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    torch.save(out, os.path.join(folder, f"rank{rank}.pt"))


if __name__ == "__main__":
    main()
