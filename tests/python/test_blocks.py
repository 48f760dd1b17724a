"""SPEC.md "Blocks", behaviours 1-6, through both modules (rblock and reproducible_block) and on
every covered generator: random, NumPy, torch CPU and (where present) CUDA."""

import time

import pytest
import torch

import rblock
from conftest import GENERATORS, SEED, dirty, draw, draws, require, state

# Tests here enter one block from two lines on purpose, to compare what it draws there.
pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")


@pytest.mark.parametrize("generator", GENERATORS)
def test_same_block_seed_same_draws(api, generator):
    require(generator)
    with api.block(64):
        first = draw(generator)
    draws(100)  # whatever runs between the blocks does not matter
    with api.block(64):
        second = draw(generator)
    assert first == second


@pytest.mark.parametrize("generator", GENERATORS)
def test_different_block_seeds_different_draws(api, generator):
    require(generator)
    seeds = [0, 1, 2, 2**32, 2**32 + 1, 2**63, 2**64 - 2, 2**64 - 1]
    seen = {}
    for s in seeds:
        with api.block(s):
            seen[s] = draw(generator)
    assert len(set(seen.values())) == len(seeds), seen


@pytest.mark.parametrize("generator", GENERATORS)
def test_different_initial_seeds_different_draws(api, generator):
    require(generator)
    api.set_seed(5)
    with api.block(64):
        a = draw(generator)
    api.set_seed(5 + 2**32)  # the same low 32 bits: torch.manual_seed would give the same numbers
    with api.block(64):
        b = draw(generator)
    assert a != b


def test_decorator_equals_with_statement(api):
    with api.block(128):
        expected = draws()

    @api.block(128)
    def body():
        return draws()

    draws(3)
    assert body() == expected
    assert body() == expected  # each call enters the block afresh


def test_block_zero_is_the_reference(api):
    reference = draws()
    draws(50)
    with api.block(0):
        assert draws() == reference


def test_reset_to_reference_state(api):
    reference = state()
    dirty()
    api.reset_to_reference_state()
    assert state() == reference
    with api.block(9):
        dirty()
        api.reset_to_reference_state()  # open blocks stay open
        assert state() == reference


def test_keep_continues_from_where_the_block_left(api):
    dirty()
    with api.block(5):
        dirty()
        inside = state()
    assert state() == inside  # nothing put back: every generator goes on from there


def test_keep_is_the_default(api):
    with api.block(5):
        draws()
        inside = state()
    assert state() == inside


def test_restore_is_exact(api):
    dirty()
    before = state()
    with api.block(5, restore=True):
        assert state() != before
        dirty()
    assert state() == before


def test_restore_on_exception(api):
    dirty()
    before = state()
    with pytest.raises(KeyError):
        with api.block(6, restore=True):
            dirty()
            raise KeyError("inside the block")
    assert state() == before
    assert rblock._C.block_depth() == 0


def test_restore_on_exception_in_decorated_function(api):
    @api.block(6, restore=True)
    def fails():
        dirty()
        raise KeyError("inside the block")

    dirty()
    before = state()
    with pytest.raises(KeyError):
        fails()
    assert state() == before


def test_nested_three_deep_each_restore_returns_to_its_own_entry(api):
    dirty()
    s0 = state()
    with api.block(1, restore=True):
        dirty()
        s1 = state()
        with api.block(2, restore=True):
            dirty()
            s2 = state()
            with api.block(3, restore=True):
                assert draws() != draws()
                dirty()
            assert state() == s2
        assert state() == s1
    assert state() == s0


def test_nested_keep_inside_restore(api):
    dirty()
    s0 = state()
    with api.block(1, restore=True):
        with api.block(2):
            with api.block(3):
                inner = draws()
        after_keep = state()
        with api.block(3):
            assert draws() == inner  # a nested block does not depend on its parents
        assert after_keep != s0
    assert state() == s0


def test_nested_blocks_do_not_depend_on_their_parents(api):
    with api.block(3):
        alone = draws()
    with api.block(1):
        draws()
        with api.block(2):
            with api.block(3):
                assert draws() == alone


def test_entry_cost_does_not_grow_with_the_block_seed(seeded):
    # SPEC behaviour 6 (O(1) entry). The original replays `block_seed` draws: ~30 ms at 10^4,
    # forever at 2**64 - 1. Fastest of many entries, generous bound: robust on a loaded machine.
    def fastest(block_seed, repeats=300):
        b = rblock.block(block_seed)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            with b:
                pass
            best = min(best, time.perf_counter() - t)
        return best

    fastest(0)  # warm-up
    base = fastest(0)
    for s in (10**4, 10**6, 2**32, 2**64 - 1):
        assert fastest(s) < 5 * base + 50e-6, f"block {s} vs block 0 ({base * 1e6:.1f} us)"
