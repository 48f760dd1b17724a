"""The README's toy model, traced, for test_diff.py and the README's diff: conv layers (block 64),
fully connected layers (block 44), two training steps with dropout (blocks ("train", step)).
`python trace_job.py TRACE [extra]` writes its trace to TRACE; with `extra`, block 44 draws one
more number, as a change of code would."""

import sys

import torch
from torch import nn

import rblock


def main(trace_path, extra_draw):
    rblock.set_seed(42)
    data = torch.Generator().manual_seed(7)  # the data does not depend on the model
    images, labels = torch.randn(16, 1, 8, 8, generator=data), torch.randint(0, 10, (16,), generator=data)
    with rblock.trace(trace_path):
        with rblock.block(64):
            convs = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        with rblock.block(44):
            fc1 = nn.Linear(8 * 8 * 8, 32)
            if extra_draw:
                torch.rand(1)
            fc2 = nn.Linear(32, 10)
        model = nn.Sequential(convs, nn.Flatten(), fc1, nn.ReLU(), nn.Dropout(0.5), fc2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        for step in range(2):
            with rblock.block(("train", step)):
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(images), labels).backward()
                optimizer.step()


if __name__ == "__main__":
    main(sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == "extra")
