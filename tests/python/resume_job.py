"""A toy training run that stops and resumes, for test_resume.py: a model with dropout, a shuffled
DataLoader with two workers whose items draw augmentations from torch, random and NumPy, SGD;
training inside rblock.block("train", engine=...) inside a restoring block.

    python resume_job.py ENGINE first K CHECKPOINT   # K epochs, then a checkpoint, in a new process
    python resume_job.py ENGINE resume CHECKPOINT OUT   # the rest, in another new process
"""

import random
import sys

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import rblock

EPOCHS = 3


class Augmented(Dataset):
    def __init__(self):
        self.x = torch.linspace(-1, 1, 32 * 6).reshape(32, 6)
        self.y = torch.arange(32) % 3

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        noise = torch.randn(6) * 0.1 + random.random() * 0.01 + float(np.random.rand()) * 0.01
        return self.x[i] + noise, self.y[i]


def build():
    with rblock.block("model"):
        return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Dropout(0.4),
                                   torch.nn.Linear(16, 3))


def loader():
    return DataLoader(Augmented(), batch_size=8, shuffle=True, num_workers=2,
                      worker_init_fn=rblock.worker_init_fn, multiprocessing_context="fork")


def epoch(model, optimizer, data, losses, mid_epoch_roundtrip):
    for b, (x, y) in enumerate(data):
        if mid_epoch_roundtrip and b == 2:
            # A save between two batches, then a load of it: the run goes on as if nothing happened.
            saved = rblock.state_dict()
            torch.rand(50), random.random(), np.random.rand()
            rblock.load_state_dict(saved)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def run(engine, stop_after=None, checkpoint=None):
    """EPOCHS epochs, or `stop_after` of them and then a checkpoint. Returns (parameters, losses)."""
    rblock.set_seed(42)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = loader()
    losses = []
    with rblock.block("outer", restore=True), rblock.block("train", engine=engine):
        for e in range(EPOCHS):
            if e == stop_after:
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": e,
                            "losses": losses, "rng": rblock.state_dict()}, checkpoint)
                return None
            epoch(model, optimizer, data, losses, mid_epoch_roundtrip=e == 1)
    return [p.detach().clone() for p in model.parameters()], losses


def resume(engine, checkpoint):
    rblock.set_seed(42)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = loader()
    with rblock.block("outer", restore=True), rblock.block("train", engine=engine):
        ckpt = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        rblock.load_state_dict(ckpt["rng"])
        losses = list(ckpt["losses"])
        for e in range(ckpt["epoch"], EPOCHS):
            epoch(model, optimizer, data, losses, mid_epoch_roundtrip=e == 1)
    return [p.detach().clone() for p in model.parameters()], losses


if __name__ == "__main__":
    engine, mode = sys.argv[1:3]
    if mode == "first":
        run(engine, stop_after=int(sys.argv[3]), checkpoint=sys.argv[4])
    else:
        torch.save(resume(engine, sys.argv[3]), sys.argv[4])
