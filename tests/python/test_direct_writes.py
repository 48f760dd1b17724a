"""Note [Direct writes]: random's and NumPy's states written straight into their C structs equal
what random.setstate and np.random.set_state install, and restore exactly; and generators=, which
limits what a block installs."""

import random

import numpy as np
import platform
import pytest
import torch

import rblock
from conftest import SEED, dirty, draw, draws, state

# Tests here enter one block from two lines on purpose, to compare what it draws there.
pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")

C = rblock._C


def test_direct_writes_cover_random_and_numpy_here():
    # Where the layout checks fail, blocks fall back to setstate: right, but slower.
    if platform.python_implementation() != "CPython":
        pytest.skip("direct writes of random assume CPython's RandomObject")
    assert C.direct_generators() == C.RANDOM | C.NUMPY


def states_in_blocks():
    """What set_seed, blocks (nested, restoring) and reset_to_reference_state install."""
    out = []
    rblock.set_seed(SEED)
    out.append(state())
    dirty()
    for seed in (0, 5, 2**64 - 1, ("augment", 1, 2)):
        with rblock.block(seed):
            out.append(state())
            dirty()
            with rblock.block(seed, restore=True):
                dirty()
            out.append(state())
    rblock.reset_to_reference_state()
    out.append(state())
    return out


def test_direct_writes_install_what_setstate_installs(seeded):
    try:
        C._use_direct_writes(False)
        through_setstate = states_in_blocks()
    finally:
        C._use_direct_writes(True)
    assert states_in_blocks() == through_setstate


def test_restore_is_exact_with_cached_gaussians(seeded, writes):
    dirty()  # random's gauss_next and NumPy's cached gaussian are set
    assert random.getstate()[2] is not None and np.random.get_state()[3] == 1
    before = state()
    with rblock.block(3, restore=True):
        assert random.getstate()[2] is None and np.random.get_state()[3] == 0  # cleared inside
        dirty()
        with rblock.block(4, restore=True):
            dirty()
    assert state() == before


def test_torch_only_blocks_leave_random_and_numpy_alone(seeded):
    with rblock.block(9):
        full = draw("torch_cpu")
    dirty()
    before = state()
    with rblock.block(9, generators=("torch",)):
        assert draw("torch_cpu") == full
        assert {k: v for k, v in state().items() if k in ("random", "numpy")} == \
            {k: v for k, v in before.items() if k in ("random", "numpy")}


def test_python_only_blocks_leave_torch_alone(seeded):
    with rblock.block(9):
        full = draws()
    dirty()
    before = torch.get_rng_state()
    with rblock.block(9, generators=("random", "numpy")):
        assert torch.equal(torch.get_rng_state(), before)
        assert draw("random") == full["random"] and draw("numpy") == full["numpy"]


def test_a_block_of_no_generators_changes_none(seeded):
    dirty()
    before = state()
    with rblock.block(5, generators=()):
        assert state() == before and C.open_blocks() == [(5, "replicated")]
    assert state() == before


@pytest.mark.parametrize("bad, error", [("torch", rblock.ArgumentTypeError),
                                        (5, rblock.ArgumentTypeError),
                                        (("torch", "cuda"), rblock.ArgumentError)])
def test_bad_generators(seeded, bad, error):
    with pytest.raises(error, match="generator"):
        rblock.block(1, generators=bad)


def test_the_philox_engine_needs_torchs_generators(seeded):
    with pytest.raises(rblock.ArgumentError, match="'torch' in generators"):
        rblock.block(1, engine="philox", generators=("random", "numpy"))
