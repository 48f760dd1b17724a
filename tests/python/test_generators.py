"""What a block installs into each covered generator: the full Mersenne Twister states of rb's
derivation for random and NumPy (Note [Python generator states]), torch's CPU and CUDA states."""

import random

import numpy as np
import pytest
import torch

import rblock
from conftest import HAS_CUDA, SEED, draw

# Tests here enter one block from two lines on purpose, to compare what it draws there.
pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")

C = rblock._C


def expected_words(initial_seed, block_seed, domain):
    return list(C.mt_state(C.derive_key(initial_seed, block_seed), domain))


@pytest.mark.parametrize("block_seed", [0, 1, 10**4, 2**64 - 1])
def test_random_gets_the_full_state_of_its_domain(seeded, block_seed):
    with rblock.block(block_seed):
        version, internal, gauss_next = random.getstate()
    assert version == 3 and gauss_next is None
    assert list(internal[:624]) == expected_words(SEED, block_seed, C.Domain.python_random)
    assert internal[624] == 624  # no word used yet: the first draw twists the state


@pytest.mark.parametrize("block_seed", [0, 1, 10**4, 2**64 - 1])
def test_numpy_gets_the_full_state_of_its_domain(seeded, block_seed):
    with rblock.block(block_seed):
        kind, words, pos, has_gauss, cached = np.random.get_state()
    assert kind == "MT19937" and pos == 624 and has_gauss == 0 and cached == 0.0
    assert words.tolist() == expected_words(SEED, block_seed, C.Domain.numpy)


def test_domains_differ(seeded):
    key = C.derive_key(SEED, 7)
    states = {d: C.mt_state(key, d) for d in (C.Domain.python_random, C.Domain.numpy, C.Domain.torch_cpu)}
    assert len(set(states.values())) == 3
    for words in states.values():
        assert len(words) == 624 and words[0] & 0x80000000  # never the degenerate state


def test_random_draws_match_a_fresh_random_with_that_state(seeded):
    words = expected_words(SEED, 11, C.Domain.python_random)
    mine = random.Random()
    mine.setstate((3, tuple(words) + (624,), None))
    with rblock.block(11):
        assert [random.random() for _ in range(5)] == [mine.random() for _ in range(5)]
        assert random.randint(0, 10**9) == mine.randint(0, 10**9)


def test_numpy_draws_match_a_fresh_random_state_with_that_state(seeded):
    mine = np.random.RandomState()
    mine.set_state(("MT19937", np.array(expected_words(SEED, 11, C.Domain.numpy), np.uint32), 624, 0, 0.0))
    with rblock.block(11):
        assert np.array_equal(np.random.rand(5), mine.rand(5))
        assert np.array_equal(np.random.permutation(20), mine.permutation(20))


def test_torch_cpu_gets_the_block_state(seeded):
    with rblock.block(12):
        a = torch.rand(8)
        b = torch.randn(3, dtype=torch.float64)
        c = torch.randperm(10)
    with rblock.block(12):
        assert torch.equal(a, torch.rand(8))
        assert torch.equal(b, torch.randn(3, dtype=torch.float64))
        assert torch.equal(c, torch.randperm(10))


def test_full_64_bit_initial_seed(seeded):
    # torch.manual_seed keeps 32 bits of a seed; rb fills every generator from a 64-bit key.
    torch.manual_seed(5)
    a = torch.rand(4)
    torch.manual_seed(5 + 2**32)
    assert torch.equal(a, torch.rand(4))
    seen = []
    for seed in (5, 5 + 2**32):
        rblock.set_seed(seed)
        assert rblock.initial_seed() == seed
        seen.append((draw("random"), draw("numpy"), draw("torch_cpu")))
    assert all(x != y for x, y in zip(*seen))


def test_torch_cuda_every_device_gets_the_block_seed(seeded):
    if not HAS_CUDA:
        pytest.skip("no CUDA device: the CUDA generator checks need a GPU (torch.cuda.is_available() is False)")
    with rblock.block(13):
        seeds = {torch.cuda.default_generators[d].initial_seed() for d in range(torch.cuda.device_count())}
        offsets = {torch.cuda.default_generators[d].get_offset() for d in range(torch.cuda.device_count())}
        a = torch.rand(1000, device="cuda")
    assert len(seeds) == 1 and offsets == {0}  # one seed for all devices, offset 0
    with rblock.block(13):
        assert torch.equal(a, torch.rand(1000, device="cuda"))
    with rblock.block(14):
        assert not torch.equal(a, torch.rand(1000, device="cuda"))


def test_torch_cuda_restore_is_exact(seeded):
    if not HAS_CUDA:
        pytest.skip("no CUDA device: the CUDA generator checks need a GPU (torch.cuda.is_available() is False)")
    torch.rand(10, device="cuda")
    before = [s.clone() for s in torch.cuda.get_rng_state_all()]
    with rblock.block(15, restore=True):
        torch.rand(10, device="cuda")
    assert all(torch.equal(x, y) for x, y in zip(before, torch.cuda.get_rng_state_all()))
