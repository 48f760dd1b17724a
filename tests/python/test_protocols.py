"""torch's RNG-state protocols act on both engines' draws: manual_seed and set_rng_state replay,
fork_rng isolates, DataLoader workers differ and repeat, and activation checkpointing recomputes
bit for bit (Note [Philox engine streams] in src/engine.cpp)."""

import pytest
import torch
import torch.utils.checkpoint as cp
from torch.utils.data import DataLoader, Dataset

import rblock
from conftest import HAS_CUDA

# Tests here enter one block from two lines on purpose, to compare what it draws there.
pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")

ENGINES = ["torch", "philox"]
DEVICES = ["cpu", "cuda"] if HAS_CUDA else ["cpu"]


def mixed():
    return torch.cat([torch.rand(37, dtype=torch.float64), torch.randn(40).double(),
                      torch.randint(0, 1000, (20,)).double(),
                      torch.nn.functional.dropout(torch.ones(64), 0.5).double(), torch.randperm(50).double()])


@pytest.mark.parametrize("engine", ENGINES)
def test_manual_seed_replays(seeded, engine):
    with rblock.block(20, engine=engine):
        torch.manual_seed(0)
        first = mixed()
        torch.manual_seed(0)
        assert torch.equal(first, mixed())


@pytest.mark.parametrize("engine", ENGINES)
def test_set_rng_state_replays(seeded, engine):
    with rblock.block(21, engine=engine):
        state = torch.get_rng_state()
        first = mixed()
        torch.set_rng_state(state)
        assert torch.equal(first, mixed())


@pytest.mark.parametrize("engine", ENGINES)
def test_fork_rng_isolates(seeded, engine):
    with rblock.block(22, engine=engine):
        expected = mixed()
    with rblock.block(22, engine=engine):
        with torch.random.fork_rng(devices=[]):
            mixed()
        assert torch.equal(expected, mixed())


def test_philox_draws_differ_from_torchs_and_repeat(seeded):
    with rblock.block(5, engine="philox"):
        philox = mixed()
    with rblock.block(5, engine="philox"):
        assert torch.equal(philox, mixed())
    with rblock.block(5, engine="torch"):
        assert not torch.equal(philox, mixed())


# ---- DataLoader workers ------------------------------------------------------------------------


class Noise(Dataset):
    """Each item draws from torch's generator inside the worker (a generator-less op)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return torch.rand(3)


def worker_draws(context, engine, worker_init_fn):
    loader = DataLoader(Noise(), batch_size=4, num_workers=2, multiprocessing_context=context,
                        worker_init_fn=worker_init_fn)
    with rblock.block(30, engine=engine):
        return [batch for batch in loader]


# Spawned workers import torch afresh (seconds each): the torch engine runs with fork only, where
# the child inherits the block; a spawned child is torch's own case (rb unseeded there).
@pytest.mark.parametrize(("engine", "context"), [("torch", "fork"), ("philox", "fork"), ("philox", "spawn")])
@pytest.mark.parametrize("init", [None, rblock.worker_init_fn], ids=["plain", "worker_init_fn"])
def test_dataloader_workers_differ_and_repeat(seeded, engine, context, init):
    first = worker_draws(context, engine, init)
    assert len(first) == 2  # batch w comes from worker w
    assert not torch.equal(first[0], first[1]), "both workers drew the same numbers"
    second = worker_draws(context, engine, init)
    assert all(torch.equal(a, b) for a, b in zip(first, second))


# ---- activation checkpointing --------------------------------------------------------------------


def make_net(device):
    with rblock.block(40):
        net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                  torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                                  torch.nn.Linear(32, 4))
    return net.double().to(device)


def gradients(engine, device, how, backward_inside, block_seed=41):
    """Gradients of the net's parameters and input after one forward and backward in a block."""
    net = make_net(device)
    x = torch.linspace(-1, 1, 8 * 16, dtype=torch.float64, device=device).reshape(8, 16).requires_grad_()

    def forward():
        if how == "plain":
            return net(x)
        if how == "sequential":
            return cp.checkpoint_sequential(net, 3, x, use_reentrant=False)
        reentrant = how == "reentrant"
        return cp.checkpoint(net, x, use_reentrant=reentrant)

    with rblock.block(block_seed, engine=engine):
        loss = (forward() ** 2).sum()
        if backward_inside:
            loss.backward()
    if not backward_inside:
        loss.backward()
    return [p.grad for p in net.parameters()] + [x.grad]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("backward_inside", [True, False], ids=["backward_in_block", "backward_after_block"])
@pytest.mark.parametrize("how", ["reentrant", "non_reentrant", "sequential"])
def test_checkpointing_recomputes_exactly(seeded, device, engine, backward_inside, how):
    plain = gradients(engine, device, "plain", backward_inside)
    checkpointed = gradients(engine, device, how, backward_inside)
    for a, b in zip(plain, checkpointed):
        assert torch.equal(a, b), f"max |diff| {(a - b).abs().max().item()}"
    # The dropout masks do matter: another block gives other gradients.
    other = gradients(engine, device, "plain", backward_inside, block_seed=42)
    assert not torch.equal(plain[0], other[0])
