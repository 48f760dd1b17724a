"""Finding where two runs diverged: reused blocks (``set_reuse_policy``, ``ReuseWarning``) and the
per-block trace (``trace``, ``RB_TRACE``) that ``python -m rblock.diff`` compares."""

import json
import os
import platform

from . import ArgumentError, ArgumentTypeError, _C

try:
    import numpy as _np
except ImportError:
    _np = None

__all__ = ["ReuseWarning", "set_reuse_policy", "reuse_policy", "trace", "stop_trace", "tracing"]

_POLICIES = {"allow": _C.Reuse.allow, "warn": _C.Reuse.warn, "error": _C.Reuse.error}


class ReuseWarning(UserWarning):
    """A block seed (or path) entered from a second place in the code: both places draw the same
    numbers. Issued once per pair of places; see ``rblock.set_reuse_policy``."""


def set_reuse_policy(policy):
    """What rblock does when one block seed or path is entered from two places in the code (two
    ``with`` lines, or a decorated function and a ``with``) in one run, which makes both draw the
    same numbers: ``"warn"`` (the default) issues one ``rblock.ReuseWarning`` per pair of places,
    ``"error"`` raises ``rblock.Error`` before entering, ``"allow"`` says nothing. Entering again
    from the same place (a loop, a function called every epoch) is never a reuse. Process-wide, for
    C++ blocks too; ``rblock.set_seed`` forgets the blocks seen so far."""
    if not isinstance(policy, str):
        raise ArgumentTypeError(f"rblock.set_reuse_policy: policy is a str, not {policy!r}")
    if policy not in _POLICIES:
        raise ArgumentError(
            f"rblock.set_reuse_policy: policy is one of {sorted(_POLICIES)}, got {policy!r}"
        )
    _C.set_reuse_policy(_POLICIES[policy])


def reuse_policy():
    """The current reuse policy: "allow", "warn" or "error"."""
    return _C.reuse_policy().name


class trace:
    """Writes rb's trace of this process to ``path``: a first JSON line describing the environment
    (rb, torch, CUDA, cuDNN, GPUs, CPU instruction set, determinism flags, PYTHONHASHSEED, Python,
    NumPy), then one JSON line per block exit with its block seed and path, call site, depth,
    thread, rank, engine, the rb stream outputs it drew and fingerprints of torch's, ``random``'s
    and NumPy's generators at its exit. Starts at once; as a context manager, stops at its end:

        with rblock.trace("run.jsonl"):
            train()

    ``RB_TRACE=path`` in the environment starts one at the first ``rblock.set_seed`` instead
    (``{rank}`` in it becomes the rank). Compare two traces with
    ``python -m rblock.diff a.jsonl b.jsonl``. Raises ``rblock.Error`` when the file cannot be
    created or a trace is already being written."""

    def __init__(self, path):
        self.path = os.fspath(path)
        _C.start_trace(self.path)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        _C.stop_trace()
        return False

    def __repr__(self):
        return f"rblock.trace({self.path!r})"


def stop_trace():
    """Stops writing the trace (``rblock.trace`` or ``RB_TRACE``); nothing happens without one."""
    _C.stop_trace()


def tracing():
    """Whether a trace is being written."""
    return _C.tracing()


_C.set_reuse_warning(ReuseWarning)
_C.set_trace_environment(json.dumps({
    "python": platform.python_version(),
    "numpy": _np.__version__ if _np is not None else None,
}, separators=(",", ":"))[1:-1])
