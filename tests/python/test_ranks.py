"""Per-rank blocks in one process (Note [Ranks and paths]): the rank from rblock.set_rank or from
RANK/WORLD_SIZE, and every bad input. Several processes: test_distributed.py."""

import pytest
import torch

import rblock
from conftest import SEED, draws, run_fresh, state

C = rblock._C


@pytest.fixture
def ranked(seeded):
    """set_rank is process-wide: leave rank 0 of 1 behind (what worker_init_fn assumes anyway)."""
    yield
    rblock.set_rank(0, 1)


def key_of(block_seed, rank=None):
    key = C.derive_key(SEED, block_seed)
    return key if rank is None else C.rank_key(key, rank)


def test_per_rank_blocks_differ_per_rank_and_repeat(ranked):
    seen = {}
    for rank in (0, 1, 2, 1, 0):  # each rank twice: the same draws
        rblock.set_rank(rank, 3)
        with rblock.block(("dropout", 4), per_rank=True):
            assert torch.initial_seed() == key_of(rblock.path("dropout", 4), rank)  # the key
            d = draws()
        assert seen.setdefault(rank, d) == d
        with rblock.block(("dropout", 4)):  # replicated: the same on every rank
            assert torch.initial_seed() == key_of(rblock.path("dropout", 4))
    assert len({str(d) for d in seen.values()}) == 3


def test_worker_init_fn_mixes_in_the_rank(ranked):
    rblock.set_rank(1, 2)
    with rblock.block(3, restore=True):
        base = torch.initial_seed()  # outside a worker, worker_init_fn takes it as base + id
        rblock.worker_init_fn(0)
        assert torch.initial_seed() == C.rank_key(C.derive_key(base, 0), 1)


@pytest.mark.parametrize("rank, world, error", [
    (-1, 2, rblock.ArgumentError), (2, 2, rblock.ArgumentError), (3, 2, rblock.ArgumentError),
    (0, 0, rblock.ArgumentError), (0, 2**32, rblock.ArgumentError),
    (True, 2, rblock.ArgumentTypeError), (0.0, 2, rblock.ArgumentTypeError),
    ("0", 2, rblock.ArgumentTypeError)])
def test_bad_ranks_change_nothing(ranked, rank, world, error):
    rblock.set_rank(1, 3)
    with pytest.raises(error, match="set_rank"):
        rblock.set_rank(rank, world)
    assert C.known_rank() == (1, 3)


def test_per_rank_before_any_rank_is_known_says_what_to_do():
    out = run_fresh("""
        import random, numpy as np, torch, rblock
        state = lambda: (random.getstate(), np.random.get_state()[1].tolist(),
                         torch.get_rng_state().tolist())
        rblock.set_seed(42)
        before = state()
        for enter in (lambda: rblock.block(7, per_rank=True).__enter__(),
                      lambda: rblock.block(7, per_rank=True)(lambda: None)()):
            try:
                enter()
            except rblock.Error as e:
                print(e)
            else:
                raise SystemExit("no error")
        assert state() == before and rblock._C.block_depth() == 0
        try:
            rblock.worker_init_fn(0)  # without a rank, a worker is on rank 0
        except rblock.Error:
            raise SystemExit("worker_init_fn needs no rank")
    """, RANK=None, WORLD_SIZE=None)
    lines = out.splitlines()
    assert len(lines) == 2
    for line in lines:
        for advice in ("torch.distributed", "RANK and WORLD_SIZE",
                       "rblock.set_rank(rank, world_size)"):
            assert advice in line, line


def test_rank_from_the_environment():
    out = run_fresh("""
        import torch, rblock
        rblock.set_seed(42)
        with rblock.block(7, per_rank=True):
            print(torch.initial_seed())
    """, RANK="2", WORLD_SIZE="4")
    assert int(out) == key_of(7, 2)


@pytest.mark.parametrize("rank, world, message", [
    ("x", "2", "must be integers"), ("2", "2", r"rank must be in \[0, world_size\)"),
    ("-1", "2", r"rank must be in \[0, world_size\)")])
def test_bad_rank_in_the_environment(rank, world, message):
    out = run_fresh("""
        import rblock
        rblock.set_seed(42)
        try:
            rblock.block(7, per_rank=True).__enter__()
        except rblock.Error as e:
            print(e)
        assert rblock._C.block_depth() == 0
    """, RANK=rank, WORLD_SIZE=world)
    assert __import__("re").search(message, out) and "RANK and WORLD_SIZE" in out, out


def test_group_needs_per_rank_and_torch_distributed(seeded):
    with pytest.raises(rblock.ArgumentError, match="per_rank=True"):
        rblock.block(7, group=object())
    before = state()
    with pytest.raises(rblock.Error, match="init_process_group"):
        with rblock.block(7, per_rank=True, group=object()):
            pass
    assert state() == before and C.block_depth() == 0


def test_check_consistent_needs_a_process_group(seeded):
    with pytest.raises(rblock.Error, match="init_process_group"):
        rblock.check_consistent()
