"""Misuse raises a Python exception with a clear message, and changes nothing (SPEC.md "Blocks",
behaviour 7, and issue 7's list of errors)."""

import gc
import sys
import threading

import numpy as np
import pytest
import torch

import rblock
from conftest import SEED, dirty, run_fresh, state
from reproducible_block import Reproducible_Block

C = rblock._C


def test_block_before_set_seed_raises_and_changes_nothing():
    out = run_fresh("""
        import random, numpy as np, torch
        import rblock
        from reproducible_block import Reproducible_Block
        random.seed(1); np.random.seed(1); torch.manual_seed(1)
        before = (random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state())
        for enter in (lambda: rblock.block(3).__enter__(),
                      lambda: rblock.block(3)(lambda: None)(),
                      lambda: Reproducible_Block(block_seed=3).__enter__(),
                      lambda: Reproducible_Block(block_seed=3, reset_state_after=True).__enter__(),
                      rblock.reset_to_reference_state,
                      rblock.initial_seed):
            try:
                enter()
            except rblock.Error as e:
                print(e)
            else:
                raise SystemExit("no error")
        after = (random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state())
        assert before[:2] == after[:2] and torch.equal(before[2], after[2])
        assert rblock._C.block_depth() == 0
    """)
    lines = out.splitlines()
    assert len(lines) == 6
    for line in lines:
        assert "before set_seed" in line and "rblock.set_seed(seed)" in line, line


@pytest.mark.parametrize("bad", [1.0, 64.5, "64", None, [1], True, False, np.float64(3.0)])
def test_block_seed_that_is_not_an_int(seeded, bad):
    if not isinstance(bad, str):  # rblock.block("64") is a path (test_paths.py)
        with pytest.raises(rblock.ArgumentTypeError, match="must be an int") as info:
            rblock.block(bad)
        assert isinstance(info.value, TypeError) and isinstance(info.value, rblock.Error)
    with pytest.raises(TypeError):  # the drop-in module takes ints only, as the original
        Reproducible_Block(block_seed=bad)


@pytest.mark.parametrize("bad", [-1, -(2**64), 2**64, 2**64 + 1, 10**30])
def test_block_seed_out_of_range(seeded, bad):
    with pytest.raises(rblock.ArgumentError, match=r"\[0, 2\*\*64 - 1\]") as info:
        rblock.block(bad)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError):
        Reproducible_Block(block_seed=bad)
    with pytest.raises(rblock.ArgumentError):
        rblock.set_seed(bad)


def test_integer_like_block_seeds_are_accepted(seeded):
    for ok in (0, 2**64 - 1, np.int64(7), np.uint64(2**64 - 1)):
        with rblock.block(ok) as b:
            assert type(b.block_seed) is int


def test_missing_block_seed_in_the_drop_in_module(seeded):
    with pytest.raises(rblock.Error, match=r"Reproducible_Block\(block_seed=42\)"):
        Reproducible_Block()


@pytest.mark.parametrize("bad", ["no", "False", 1, 0, None, 1.0])
def test_restore_must_be_a_bool(seeded, bad):
    with pytest.raises(rblock.ArgumentTypeError, match="restore must be a bool") as info:
        rblock.block(1, restore=bad)
    assert isinstance(info.value, TypeError)
    with pytest.raises(rblock.ArgumentTypeError, match="reset_state_after must be a bool"):
        Reproducible_Block(block_seed=1, reset_state_after=bad)
    with pytest.raises(rblock.ArgumentTypeError, match="per_rank must be a bool"):
        rblock.block(1, per_rank=bad)


def test_restore_takes_python_and_numpy_bools(seeded):
    for flag in (True, False, np.True_, np.False_):
        b = rblock.block(1, restore=flag)
        assert b.restore is bool(flag)


def test_errors_raised_in_torch_ops_name_the_python_api(seeded):
    g = rblock.generator(1, "cuda")
    with pytest.raises(RuntimeError, match=r"rblock\.generator\(seed, tensor\.device\)"):
        torch.rand(3, generator=g)


def test_unknown_engine(seeded):
    with pytest.raises(rblock.ArgumentError, match="engine must be one of"):
        rblock.block(1, engine="mt19937")
    assert repr(rblock.block(1, engine="philox")) == "rblock.block(1, restore=False, engine='philox')"


def test_leaving_blocks_out_of_order(seeded):
    outer, inner = rblock.block(1, restore=True), rblock.block(2, restore=True)
    dirty()
    s0 = state()
    outer.__enter__()
    s1 = state()
    inner.__enter__()
    dirty()
    s2 = state()
    with pytest.raises(rblock.Error, match="reverse order of entering them"):
        outer.__exit__(None, None, None)
    assert state() == s2 and C.block_depth() == 2  # the refused exit changed nothing
    inner.__exit__(None, None, None)
    assert state() == s1
    outer.__exit__(None, None, None)  # still open after the refusal: leaving it now works
    assert state() == s0 and C.block_depth() == 0


def test_leaving_out_of_order_through_a_suspended_generator(api):
    def gen():
        with api.block(1):
            yield

    g = gen()
    outer = api.block(2)
    with pytest.raises(rblock.Error, match="reverse order"):
        with outer:
            next(g)  # block 1 opens inside block 2 and is still open when block 2 ends
    assert C.block_depth() == 2
    g.close()  # block 1 closes; block 2 stayed open, so leaving it again now works
    outer.__exit__(None, None, None)
    assert C.block_depth() == 0


def test_a_generator_closed_out_of_order_does_not_leak_its_block(api):
    def gen():
        with api.block(11, restore=True):
            yield

    g = gen()
    next(g)
    with api.block(12):
        with pytest.raises(rblock.Error, match="reverse order"):
            g.close()  # the error where it happens; block 11 can never be left again, so it is closed
        assert C.block_depth() == 1
    assert C.block_depth() == 0
    api.set_seed(SEED)  # not "inside a block": the program goes on


def test_a_generator_collected_out_of_order_does_not_leak_its_block(api, monkeypatch):
    def gen():
        with api.block(11):
            yield

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    g = gen()
    next(g)
    with api.block(12):
        del g
        gc.collect()  # the generator's finalizer closes it: its error cannot propagate
        assert C.block_depth() == 1
    assert C.block_depth() == 0
    assert len(unraisable) == 1 and "reverse order" in str(unraisable[0].exc_value)


def test_a_decorated_call_that_leaves_a_block_open_still_closes_its_own(seeded):
    inner = rblock.block(6)

    @rblock.block(5)
    def forgets():
        inner.__enter__()

    with pytest.raises(rblock.Error, match="reverse order"):
        forgets()
    assert C.block_depth() == 1  # block 5 is closed; block 6, entered and never left, is open
    inner.__exit__(None, None, None)
    assert C.block_depth() == 0


def test_leaving_a_block_twice_or_never_entered(seeded):
    b = rblock.block(3)
    with pytest.raises(rblock.Error, match="did not enter"):
        b.__exit__(None, None, None)
    with b:
        pass
    with pytest.raises(rblock.Error, match="did not enter"):
        b.__exit__(None, None, None)


def test_leaving_on_another_thread(seeded):
    b = rblock.block(3)
    b.__enter__()
    errors = []

    def leave():
        try:
            b.__exit__(None, None, None)
        except rblock.Error as e:
            errors.append(e)

    t = threading.Thread(target=leave)
    t.start()
    t.join()
    assert len(errors) == 1 and "thread" in str(errors[0])
    b.__exit__(None, None, None)


def test_set_seed_inside_a_block(seeded):
    with rblock.block(1):
        before = state()
        with pytest.raises(rblock.Error, match="outside every block"):
            rblock.set_seed(7)
        assert state() == before
    assert rblock.initial_seed() == 42


def test_failed_cpp_entry_leaves_python_generators_alone(seeded, writes):
    # rb refuses a block during a CUDA graph capture after a restoring block has saved the Python
    # generators; without a GPU, _refuse_next_entry makes the next entry refuse at that point.
    dirty()
    before = state()
    for restore in (False, True):
        for enter in (lambda: rblock.block(5, restore=restore).__enter__(),
                      lambda: rblock.block(5, restore=restore)(lambda: None)()):
            C._refuse_next_entry("rb: cannot enter a block while a CUDA graph is being captured")
            with pytest.raises(rblock.Error, match="CUDA graph"):
                enter()
    assert state() == before and C.block_depth() == 0


# Only the setstate path runs Python code while installing: direct writes cannot be interrupted.
@pytest.mark.parametrize("writes", ["setstate"], indirect=True)
def test_failed_python_install_closes_the_block(seeded, writes, monkeypatch):
    dirty()
    before = state()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.random, "set_state", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with rblock.block(5, restore=True):
            pass
    monkeypatch.undo()
    assert C.block_depth() == 0
    assert state() == before


def test_decorating_generator_and_coroutine_functions(seeded):
    def gen():
        yield 1

    async def coro():
        return 1

    for fn in (gen, coro):
        with pytest.raises(rblock.ArgumentTypeError, match="outside the block"):
            rblock.block(1)(fn)
