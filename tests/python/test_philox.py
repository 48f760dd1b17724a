"""rb's own generator from Python (rblock.generator) and philox-engine blocks (engine="philox")."""

import subprocess
import sys

import pytest
import torch

import rblock
from conftest import HAS_CUDA

# Tests here enter one block from two lines on purpose, to compare what it draws there.
pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")


def test_generator_is_a_torch_generator_that_repeats(seeded):
    g = rblock.generator(7)
    assert isinstance(g, torch.Generator)
    assert g.initial_seed() == 7
    a = torch.rand(1000, generator=g)
    assert torch.equal(a, torch.rand(1000, generator=rblock.generator(7)))
    assert not torch.equal(a, torch.rand(1000, generator=rblock.generator(8)))


def test_generator_covers_torch_python_functions(seeded):
    g = rblock.generator(9)
    torch.randn(10, generator=g)
    torch.randint(0, 10, (10,), generator=g)
    torch.randperm(50, generator=g)
    torch.multinomial(torch.rand(3, 20), 5, generator=g)
    torch.bernoulli(torch.rand(10), generator=g)
    torch.empty(10).exponential_(generator=g)
    torch.normal(torch.zeros(5), torch.ones(5), generator=g)
    assert g.get_offset() > 0


def test_generator_state_round_trips(seeded):
    g = rblock.generator(10)
    torch.rand(5, generator=g)
    state = g.get_state()
    a = torch.rand(100, generator=g)
    g.set_state(state)
    assert torch.equal(a, torch.rand(100, generator=g))
    with pytest.raises(RuntimeError, match="40"):
        g.set_state(torch.zeros(3, dtype=torch.uint8))


def test_uncovered_op_refuses_rb_generator(seeded):
    # Raised inside a torch op, rb's error reaches Python through torch: a RuntimeError.
    with pytest.raises(RuntimeError, match="not covered"):
        torch.poisson(torch.ones(3), generator=rblock.generator(1))


def test_bad_device_is_refused(seeded):
    with pytest.raises(rblock.ArgumentError):
        rblock.generator(1, "meta")
    with pytest.raises(RuntimeError, match="make_generator"):
        torch.rand(3, generator=rblock.generator(1, "cuda"))


def test_generator_before_set_seed_says_what_to_do():
    code = "import rblock\ntry:\n rblock.generator(1)\nexcept rblock.Error as e:\n print(e)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "set_seed" in out


def test_philox_block_draws_neither_torchs_numbers_nor_its_generators(seeded):
    # Each philox-engine op draws from a stream keyed by a ticket of torch's CPU generator (Note
    # [Philox engine streams]); rblock.generator(5) is the explicit stream of block 5.
    with rblock.block(5, engine="philox"):
        inside = torch.cat([torch.rand(100), torch.randn(50)])
    with rblock.block(5, engine="philox"):
        assert torch.equal(inside, torch.cat([torch.rand(100), torch.randn(50)]))
    with rblock.block(5, engine="torch"):
        assert not torch.equal(inside, torch.cat([torch.rand(100), torch.randn(50)]))
    g = rblock.generator(5)
    assert not torch.equal(inside, torch.cat([torch.rand(100, generator=g), torch.randn(50, generator=g)]))


def test_philox_block_model_init_dropout_and_order_repeat(seeded):
    def run():
        with rblock.block(1, engine="philox"):
            net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Dropout(0.5), torch.nn.Linear(32, 4))
        with rblock.block(2, engine="philox"):
            out = net(torch.randn(8, 16))
            order = torch.randperm(64)
        return [p.detach().clone() for p in net.parameters()] + [out.detach(), order]

    first = run()
    torch.rand(777)  # unrelated draws in between change nothing
    for a, b in zip(first, run()):
        assert torch.equal(a, b)


@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device: CPU == CUDA bit identity needs a GPU")
def test_cpu_and_cuda_give_the_same_bits(seeded):
    for draw in (
        lambda g, d: torch.rand(100003, generator=g, device=d),
        lambda g, d: torch.randn(100003, generator=g, device=d),
        lambda g, d: torch.randint(0, 1000, (100003,), generator=g, device=d),
        lambda g, d: torch.randperm(100003, generator=g, device=d),
    ):
        cpu = draw(rblock.generator(3), "cpu")
        cuda = draw(rblock.generator(3, "cuda"), "cuda").cpu()
        assert torch.equal(cpu, cuda)
