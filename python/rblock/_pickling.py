"""copy.copy, copy.deepcopy and pickle of rb's generators: an rb generator at the same position.

torch.Generator's own __reduce__ rebuilds a torch CPU generator and hands it rb's 40-byte state,
which it refuses. Importing rblock registers, through copyreg, a reduction for torch.Generator that
rebuilds rb's generators from their state and leaves every other generator to what reduced it
before (torch's __reduce__)."""

import copyreg

import torch

from . import _C

_previous = copyreg.dispatch_table.get(torch.Generator)


def _restore_generator(device, state):
    """rb's generator on `device` at `state`, the bytes of its get_state(): what unpickling calls.
    It needs no rblock.set_seed (the state holds the seeds)."""
    return _C.generator_from_state(state, device)


def _reduce(gen):
    if not _C.is_generator(gen):
        return _previous(gen) if _previous is not None else gen.__reduce__()
    return _restore_generator, (str(gen.device), bytes(gen.get_state().tolist()))


copyreg.pickle(torch.Generator, _reduce)
