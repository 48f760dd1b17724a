"""rblock across processes: the rank of per-rank blocks, DataLoader workers on every rank, and a
check that every rank of a job runs with the same seed and blocks. See Note [Ranks and paths] in
rb's include/rb/path.hpp and the README's "Distributed training"."""

import os

import torch

from . import ArgumentError, ArgumentTypeError, Error, _C, _check_seed, __version__

_NO_RANK = (
    "rblock: {what} needs this process's rank, and none is known: initialise torch.distributed "
    "(torch.distributed.init_process_group), or set RANK and WORLD_SIZE in the environment "
    "(torchrun does), or call rblock.set_rank(rank, world_size)."
)


def _check_rank(rank, world_size, source):
    """(rank, world_size) as ints with 0 <= rank < world_size < 2**32, or ArgumentError."""
    for name, value in (("rank", rank), ("world_size", world_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArgumentTypeError(f"rblock: {source}: {name} must be an int, not {value!r}")
    if not 1 <= world_size < 2**32:
        raise ArgumentError(f"rblock: {source}: world_size must be in [1, 2**32), got {world_size}")
    if not 0 <= rank < world_size:
        raise ArgumentError(
            f"rblock: {source}: rank must be in [0, world_size) = [0, {world_size}), got {rank}"
        )
    return rank, world_size


def set_rank(rank, world_size):
    """Tells rb this process's rank in a job of ``world_size`` processes, for ``per_rank=True``
    blocks (process-wide; also what C++'s ``rb::Ranks::distinct`` blocks use). Needed only where
    neither torch.distributed nor ``RANK``/``WORLD_SIZE`` tell it."""
    rank, world_size = _check_rank(rank, world_size, f"set_rank({rank!r}, {world_size!r})")
    _C.set_rank(rank, world_size)


def _initialised_distributed():
    """torch.distributed when a default process group exists, else None."""
    dist = torch.distributed
    return dist if dist.is_available() and dist.is_initialized() else None


def _environment_rank():
    """(RANK, WORLD_SIZE) from the environment (as torchrun sets them), or None."""
    rank, world_size = os.environ.get("RANK"), os.environ.get("WORLD_SIZE")
    if rank is None or world_size is None:
        return None
    try:
        rank, world_size = int(rank), int(world_size)
    except ValueError:
        raise Error(
            f"rblock: RANK and WORLD_SIZE in the environment ({rank!r}, {world_size!r}) must be "
            "integers: fix them, or call rblock.set_rank(rank, world_size)"
        ) from None
    return _check_rank(rank, world_size, "RANK and WORLD_SIZE in the environment")


def process_rank():
    """(global rank, world size) of this process, or None when nothing tells it: torch.distributed's
    when a process group is initialised, else rblock.set_rank's, else RANK and WORLD_SIZE from the
    environment. Raises rblock.Error when torch.distributed and rblock.set_rank disagree."""
    dist = _initialised_distributed()
    known = _C.known_rank()
    if dist is not None:
        mine = dist.get_rank(), dist.get_world_size()
        if known is not None and tuple(known) != mine:
            raise Error(
                f"rblock: rblock.set_rank said rank {known[0]} of {known[1]}, but "
                f"torch.distributed says rank {mine[0]} of {mine[1]}: call rblock.set_rank with "
                "torch.distributed's rank, or not at all"
            )
        return mine
    if known is not None:
        return tuple(known)
    return _environment_rank()


def block_rank(group):
    """The rank a per-rank block folds into its key: the rank in `group`, or the global rank."""
    if group is not None:
        dist = _initialised_distributed()
        if dist is None:
            raise Error(
                "rblock: a per_rank block with group= needs an initialised torch.distributed: call "
                "torch.distributed.init_process_group first"
            )
        rank = dist.get_rank(group)
        if rank < 0:
            raise Error("rblock: this process is not a member of the group given to rblock.block")
        return rank
    known = process_rank()
    if known is None:
        raise Error(_NO_RANK.format(what="a per_rank=True block"))
    return known[0]


def worker_init_fn(worker_id):
    """Seeds a DataLoader worker: torch's CPU generator, Python's ``random`` and NumPy get full
    Mersenne Twister states that depend on (DataLoader's base seed, the global rank, the worker):

        loader = DataLoader(dataset, num_workers=2, shuffle=True,
                            worker_init_fn=rblock.worker_init_fn)

    DataLoader draws its base seed from the main process's torch generator when an iterator is
    created (so under a block it repeats, and it is the same on every rank of a replicated block);
    worker ``w`` is told ``base seed + w`` (``get_worker_info().seed``). Its key is
    ``rank_key(derive_key(base seed, w), global rank)`` (rank 0 when no rank is known), so every
    (rank, worker) draws its own numbers, the same in every run. torch's CUDA generators are left
    alone (a worker must not touch CUDA). Afterwards ``torch.initial_seed()`` in the worker is the
    key.
    """
    worker_id = _check_seed(worker_id, "worker_id")
    info = torch.utils.data.get_worker_info()
    seed = info.seed if info is not None else torch.initial_seed()
    base_seed = (seed - worker_id) % 2**64
    known = process_rank()
    rank = known[0] if known is not None else 0
    _C.install_worker_states(_C.rank_key(_C.derive_key(base_seed, worker_id), rank))


def _describe(values, ranks):
    """'42 on ranks [0, 2]; 43 on rank [1]' for the distinct values among ranks."""
    groups = {}
    for value, rank in zip(values, ranks):
        groups.setdefault(repr(value), []).append(rank)
    return "; ".join(f"{value} on rank{'s' if len(r) > 1 else ''} {r}"
                     for value, r in groups.items())


def check_consistent(group=None):
    """Checks that every rank of ``group`` (default: the whole job) runs rb with the same initial
    seed, rb stream version and rb version, and has the same blocks open on the calling thread;
    raises ``rblock.Error`` naming the ranks that differ. A collective (one
    ``all_gather_object``): call it on every rank, for instance right after ``rblock.set_seed``."""
    dist = _initialised_distributed()
    if dist is None:
        raise Error(
            "rblock.check_consistent needs an initialised process group: call "
            "torch.distributed.init_process_group first (torchrun sets what it needs)"
        )
    try:
        seed = _C.initial_seed()
    except Error:
        seed = None  # reported below, on every rank alike
    mine = {
        "initial seed": seed,
        "rb stream version": _C.stream_version,
        "rb version": __version__,
        "open blocks": [tuple(b) for b in _C.open_blocks()],
    }
    gathered = [None] * dist.get_world_size(group)
    dist.all_gather_object(gathered, mine, group=group)
    ranks = [dist.get_global_rank(group, i) if group is not None else i
             for i in range(len(gathered))]
    problems = []
    for field in mine:
        values = [g[field] for g in gathered]
        if any(v != values[0] for v in values):
            differ = [r for r, v in zip(ranks, values) if v != values[0]]
            problems.append(f"{field} differs from rank {ranks[0]}'s on ranks {differ}: "
                            + _describe(values, ranks))
    if problems:
        raise Error("rblock.check_consistent: " + "; ".join(problems))
    if seed is None:
        raise Error("rblock.check_consistent: no rank has called rblock.set_seed: call "
                    "rblock.set_seed(seed) on every rank first")
