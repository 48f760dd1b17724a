"""Drop-in replacement for torch-reproducible-block 0.0.1, on rb's O(1) blocks.

The API and guarantees of the original package, so existing programs run unchanged:

    from reproducible_block import Reproducible_Block

    Reproducible_Block.set_seed(42)
    with Reproducible_Block(block_seed=64):
        conv = nn.Conv2d(3, 32, 2)

    @Reproducible_Block(block_seed=128)
    def train(model, data): ...

The numbers differ from the original's (a block's state is derived from a Philox key instead of
replaying `block_seed` draws), entering a block costs the same for every block seed, CUDA
generators are covered, and the decorator passes keyword arguments. See rb's README, "Migrating
from torch-reproducible-block".
"""

import random

import torch

import rblock

try:
    import numpy as _np
except ImportError:
    _np = None

__all__ = ["Reproducible_Block"]

rblock._C.add_internal_file(__file__)  # a block's call site is the `with` that uses this class


class Reproducible_Block:
    """Python, NumPy and PyTorch (CPU and CUDA) random states manager statement.

    ``Reproducible_Block(block_seed, reset_state_after=False)`` is a context manager and a
    decorator: inside it every generator holds the state of (initial seed, block_seed).
    ``reset_state_after=True`` restores the states found on entry when the block exits.
    """

    # The state right after set_seed, as the original records it (None before set_seed).
    reference_state = None

    def __init__(self, block_seed=None, reset_state_after=False):
        if block_seed is None:
            raise rblock.ArgumentTypeError(
                "Block seed must be passed to the decorator/with clause Ex: "
                "@Reproducible_Block(block_seed=42)"
            )
        self.reset_state_after = rblock._check_flag(reset_state_after, "reset_state_after")
        # An int only, as in the original (rblock.block also takes paths).
        self._block = rblock.block(rblock._check_seed(block_seed, "block_seed"),
                                   restore=self.reset_state_after)
        self.block_seed = self._block.block_seed

    # With clause handling
    def __enter__(self):
        self._block.__enter__()

    def __exit__(self, exc_type, exc_val, exc_tb):
        return self._block.__exit__(exc_type, exc_val, exc_tb)

    # Decorator handling: unlike the original, keyword arguments are passed too.
    def __call__(self, fct):
        return rblock._decorate(fct, self._block)

    @classmethod
    def set_seed(cls, seed):
        """Seeds Python, NumPy and torch (CPU and every CUDA device) and records the reference
        state: block 0 of `seed`, an int in [0, 2**64)."""
        rblock.set_seed(seed)
        cls.reference_state = _states()

    @classmethod
    def reset_to_reference_state(cls):
        """Puts every generator back into the reference state (right after set_seed)."""
        rblock.reset_to_reference_state()


def _states():
    """The original's record of the generators' states (CUDA's only where CUDA is initialised:
    reading it must not initialise CUDA)."""
    state = {"py": random.getstate(), "torch": torch.random.get_rng_state()}
    if _np is not None:
        state["np"] = _np.random.get_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["torch_cuda"] = torch.cuda.get_rng_state()
    return state
