"""The README's toy model in Python: an extra conv layer changes neither the fc layers' initial
weights nor the data order when each part is built in its block; without blocks, both shift."""

import contextlib

import pytest
import torch
from torch import nn

import rblock
from reproducible_block import Reproducible_Block

SAMPLES, BATCH = 64, 16


class ToyModel(nn.Module):
    """Conv layers (block 64), then two fully connected layers with dropout (block 44)."""

    def __init__(self, conv_layers, block):
        super().__init__()
        with block(64):
            layers = []
            for i in range(conv_layers):
                layers += [nn.Conv2d(1 if i == 0 else 8, 8, 3, padding=1), nn.ReLU()]
            self.convs = nn.Sequential(*layers)
        with block(44):
            self.fc1 = nn.Linear(8 * 8 * 8, 32)
            self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.convs(x).flatten(1)
        return self.fc2(nn.functional.dropout(torch.relu(self.fc1(x)), 0.5, self.training))


def no_block(block_seed):
    return contextlib.nullcontext()


def run(conv_layers, how):
    data_gen = torch.Generator().manual_seed(7)  # the data does not depend on the model
    images = torch.randn(SAMPLES, 1, 8, 8, generator=data_gen)
    labels = torch.randint(0, 10, (SAMPLES,), generator=data_gen)

    if how == "rblock":
        rblock.set_seed(42)
        block = rblock.block
    elif how == "reproducible_block":
        Reproducible_Block.set_seed(42)
        block = lambda s: Reproducible_Block(block_seed=s)  # noqa: E731
    else:
        torch.manual_seed(42)
        block = no_block
    model = ToyModel(conv_layers, block)
    fc1 = model.fc1.weight.detach().clone()

    def train():
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        orders = []
        for _ in range(2):
            order = torch.randperm(SAMPLES)
            orders.append(order)
            for start in range(0, SAMPLES, BATCH):
                idx = order[start:start + BATCH]
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(images[idx]), labels[idx]).backward()
                optimizer.step()
        return orders[0]

    with block(128):
        first_epoch_order = train()
    return fc1, first_epoch_order


@pytest.mark.parametrize("how", ["rblock", "reproducible_block"])
def test_extra_conv_layer_changes_nothing_with_blocks(how):
    fc1_two, order_two = run(2, how)
    fc1_three, order_three = run(3, how)
    assert torch.equal(fc1_two, fc1_three)
    assert torch.equal(order_two, order_three)


def test_extra_conv_layer_changes_everything_without_blocks():
    fc1_two, order_two = run(2, "none")
    fc1_three, order_three = run(3, "none")
    assert not torch.equal(fc1_two, fc1_three)
    assert not torch.equal(order_two, order_three)


def test_both_modules_give_the_same_numbers():
    a, b = run(3, "rblock"), run(3, "reproducible_block")
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
