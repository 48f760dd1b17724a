"""rblock: reproducible random blocks for PyTorch, Python's ``random`` and NumPy.

Inside ``rblock.block(s)`` torch's CPU generator, the default generator of every CUDA device,
Python's ``random`` and NumPy's legacy global generator hold a state that depends only on the
initial seed (``rblock.set_seed``) and the block seed ``s``, whatever ran before. Each state is
derived in O(1) through a Philox key of (initial seed, block seed): see rb's README.

    import rblock

    rblock.set_seed(42)                  # once, at the start: installs block 0 everywhere

    with rblock.block(44):               # fc's weights do not depend on what ran before
        fc = torch.nn.Linear(512, 10)

    @rblock.block(128)                   # the decorator: the same as a with-statement
    def train(model, data, *, epochs=2):
        ...

    with rblock.block(7, restore=True):  # afterwards, every generator is exactly as before
        evaluate_with_noise(model)

    with rblock.block(("augment", epoch, index)):  # a path: a block seed from ints and strs
        x = augment(x)

    with rblock.block("dropout", per_rank=True):   # each rank of a distributed job its own streams
        y = dropout(x)
"""

import functools
import inspect
import operator
import random

import torch  # loads libtorch before the extension, which links it

from . import _build_info

if torch.__version__ != _build_info.torch_version:
    raise ImportError(
        f"rblock was built against torch {_build_info.torch_version}, but torch {torch.__version__} "
        "is installed: reinstall rblock from rb's sources with `pip install --no-build-isolation .`"
    )

from . import _C  # noqa: E402  (after the check above: another torch may not even load it)
from . import _pickling  # noqa: E402,F401  (registers copy and pickle of rb's generators)
from . import compiled  # noqa: E402

try:
    import numpy as _np
except ImportError:  # NumPy is optional: without it, blocks cover torch and random
    _np = None

__version__ = _build_info.rb_version
__all__ = [
    "Error",
    "ArgumentError",
    "ArgumentTypeError",
    "set_seed",
    "initial_seed",
    "reset_to_reference_state",
    "block",
    "path",
    "generator",
    "worker_init_fn",
    "set_rank",
    "check_consistent",
    "state_dict",
    "load_state_dict",
    "ReuseWarning",
    "set_reuse_policy",
    "reuse_policy",
    "trace",
    "stop_trace",
    "tracing",
    "reserve",
    "Stream",
    "current_context",
    "BlockContext",
    "WorkerBlock",
]

Error = _C.Error
Error.__module__ = __name__
Error.__doc__ = (
    "Misuse of rblock (or rb's C++ core): the message says what to do. Nothing was changed by the "
    "call that raised it."
)


class ArgumentError(Error, ValueError):
    """An argument of rblock has a wrong value (a seed out of [0, 2**64), an unknown engine)."""


class ArgumentTypeError(Error, TypeError):
    """An argument of rblock has a wrong type (a seed that is not an int, a bool)."""


_C.set_argument_errors(ArgumentError, ArgumentTypeError)
_C.init_python_generators(random, _np)
_C.add_internal_file(__file__)  # the decorator of a callable without code: its caller is the site

_MAX_SEED = 2**64 - 1
_ENGINES = {"torch": 0, "philox": 1}  # what _C.enter_block takes
_GENERATORS = {"torch": _C.TORCH, "random": _C.RANDOM, "numpy": _C.NUMPY}
_ALL_GENERATORS = _C.TORCH | _C.RANDOM | (_C.NUMPY if _np is not None else 0)
_UNSEEDED = (
    "rblock: {what} before set_seed: call rblock.set_seed(seed) (or "
    "Reproducible_Block.set_seed(seed)) once at the start of the program, before any block."
)


def _check_seed(value, what):
    """`value` as an int in [0, 2**64), or ArgumentTypeError / ArgumentError."""
    if isinstance(value, bool):
        raise ArgumentTypeError(f"rblock: {what} must be an int in [0, 2**64), not a bool ({value!r})")
    try:
        seed = operator.index(value)
    except TypeError:
        raise ArgumentTypeError(
            f"rblock: {what} must be an int in [0, 2**64), not {type(value).__name__} ({value!r})"
        ) from None
    if not 0 <= seed <= _MAX_SEED:
        raise ArgumentError(f"rblock: {what} must be in [0, 2**64 - 1], got {seed}")
    return seed


def _check_flag(value, what):
    """`value` as a bool (a Python or NumPy bool), or ArgumentTypeError: "no" must not mean True."""
    if isinstance(value, bool) or (_np is not None and isinstance(value, _np.bool_)):
        return bool(value)
    raise ArgumentTypeError(
        f"rblock: {what} must be a bool (True or False), not {type(value).__name__} ({value!r})"
    )


def _check_engine(engine):
    try:
        return _ENGINES[engine]
    except (KeyError, TypeError):
        raise ArgumentError(
            f"rblock: engine must be one of {sorted(_ENGINES)}, got {engine!r}"
        ) from None


def _check_generators(generators):
    """The mask of TORCH | RANDOM | NUMPY a block installs (None: all that are present)."""
    if generators is None:
        return _ALL_GENERATORS
    if isinstance(generators, str) or not isinstance(generators, (tuple, list, set, frozenset)):
        raise ArgumentTypeError(
            f"rblock: generators must be a tuple of names such as ('torch',), not {generators!r}"
        )
    which = 0
    for name in generators:
        if name not in _GENERATORS:
            raise ArgumentError(
                f"rblock: unknown generator {name!r} in generators={generators!r}: use names "
                f"from {sorted(_GENERATORS)}"
            )
        if name == "numpy" and _np is None:
            raise ArgumentError("rblock: generators names 'numpy', but NumPy is not installed")
        which |= _GENERATORS[name]
    return which


def _block_seed(seed_or_path):
    """The block seed of an int (itself), a str (the path of one part) or a tuple (a path)."""
    if isinstance(seed_or_path, tuple):
        return _C.path(seed_or_path)
    if isinstance(seed_or_path, str):
        return _C.path((seed_or_path,))
    if isinstance(seed_or_path, bool) or not hasattr(seed_or_path, "__index__"):
        raise ArgumentTypeError(
            "rblock: block seed must be an int in [0, 2**64), a str or a tuple of ints and strs "
            f"(a path), not {type(seed_or_path).__name__} ({seed_or_path!r})"
        )
    return _check_seed(seed_or_path, "block_seed")


def path(*parts):
    """The block seed of a path, as an int: ``rblock.path("augment", 3, 17)`` is the seed that
    ``rblock.block(("augment", 3, 17))`` enters, and equals C++'s ``rb::path("augment", 3, 17)``.
    Parts are ints in [0, 2**64) and strs (hashed as their UTF-8 bytes); see rb's README."""
    return _C.path(parts)


# ---- blocks ----------------------------------------------------------------------------------
# A block is entered by one call into C++ (block.__enter__, in _C.BlockBase, or _C.enter_block for
# the decorator): every check first (arguments at construction; the rank; the seed and a possible
# CUDA graph capture in C++, which change nothing when they raise), then torch's generators, then
# random and NumPy. It is left by one call (__exit__, _C.exit_block), which refuses, changing
# nothing, a block that is not the thread's innermost; unless nothing could ever leave that entry
# again (a decorated call has ended; __exit__ of a generator or coroutine being closed, with
# GeneratorExit): then it closes the block, leaving every generator as it is, and still raises.


def _enter(b, site):
    """Enters block `b` from `site` ((filename, line), or None: the caller's) as b.__enter__ does,
    without recording the entry in `b`; returns the token that _C.exit_block takes."""
    rank = _distributed.block_rank(b.group) if b.per_rank else -1
    try:
        return _C.enter_block(b.block_seed, b.restore, b._engine, rank, b._which, site, b.path)
    except Error:
        _explain_refusal(b)
        raise


def _explain_refusal(b):
    """Raises the clearer error when rb refused to enter `b` because no seed was set."""
    try:
        _C.initial_seed()
    except Error:
        raise Error(_UNSEEDED.format(what=f"entered block {b._label()}")) from None


class block(_C.BlockBase):
    """A reproducible block, as a context manager or a decorator.

    ``rblock.block(seed_or_path, restore=False, engine="torch", per_rank=False, group=None,
    generators=None)``

    While the block is open, torch's CPU generator, the default generator of every CUDA device,
    Python's ``random`` and NumPy's legacy global generator hold the state of (initial seed,
    block seed), whatever ran before; block 0 is the state right after ``rblock.set_seed``.

    - ``seed_or_path``: the block seed, an int in [0, 2**64), a fixed label in the code (not a
      tuned seed); or a path: a str, or a tuple of ints and strs such as ``("augment", epoch,
      index)``, whose block seed is ``rblock.path(*parts)``.
    - ``restore``: a bool; if True, on exit (also through an exception) put every covered
      generator back exactly where it was on entry; by default they continue from where the block
      left them.
    - ``engine``: ``"torch"`` (torch's generators draw) or ``"philox"`` (generator-less ops that rb
      covers draw from the block's counter-based stream; torch's generators still get the block).
    - ``per_rank``: give each rank of a distributed job its own streams (the rank of
      ``torch.distributed``, else of ``rblock.set_rank``, else ``RANK``/``WORLD_SIZE``); by default
      a block is the same on every rank. ``group``: a process group, for the rank in it instead.
    - ``generators``: what the block installs, from ``("torch", "random", "numpy")`` (the default:
      all; "torch" is torch's CPU and CUDA generators, which ``engine="philox"`` needs).

    A decorated function keeps its name, docstring, signature, arguments and return value, and
    enters a fresh block on every call. Blocks nest, and must be left in the reverse order of
    entering them, on the thread that entered them.

        with rblock.block(44):
            fc = torch.nn.Linear(512, 10)

        @rblock.block(128)
        def train(model, loader, *, epochs=2): ...
    """

    # block_seed, restore, per_rank, _engine and _which are fields of _C.BlockBase, whose
    # __enter__ and __exit__ (in C, for speed) call _rank, _refused and _not_entered.
    __slots__ = ("path", "engine", "group", "generators")

    def __init__(self, seed_or_path, restore=False, engine="torch", per_rank=False, group=None,
                 generators=None):
        self.block_seed = _block_seed(seed_or_path)
        self.path = seed_or_path if isinstance(seed_or_path, (str, tuple)) else None
        self.restore = _check_flag(restore, "restore")
        self._engine = _check_engine(engine)
        self.engine = engine
        self.per_rank = _check_flag(per_rank, "per_rank")
        if group is not None and not self.per_rank:
            raise ArgumentError("rblock: group= is the process group of a per_rank=True block")
        self.group = group
        self._which = _check_generators(generators)
        if self._engine == _ENGINES["philox"] and not self._which & _C.TORCH:
            # The philox engine's ops are to follow torch's CPU generator (issue 12): without the
            # block's state in it, they would draw another block's numbers.
            raise ArgumentError("rblock: engine='philox' needs 'torch' in generators=")
        self.generators = generators

    def _label(self):
        return repr(self.path) if self.path is not None else str(self.block_seed)

    def __repr__(self):
        extra = "".join(f", {name}={getattr(self, name)!r}"
                        for name in ("per_rank", "group", "generators")
                        if getattr(self, name) not in (False, None))
        return (f"rblock.block({self._label()}, restore={self.restore}, engine={self.engine!r}"
                f"{extra})")

    def _rank(self):
        return _distributed.block_rank(self.group)

    def _refused(self):
        _explain_refusal(self)

    def _not_entered(self):
        raise Error(
            f"rblock: leaving block {self._label()}, which this thread did not enter: leave a "
            "block once, on the thread that entered it."
        )

    def __call__(self, fn):
        if not callable(fn):
            raise ArgumentTypeError(f"rblock.block decorates a function, not {type(fn).__name__}")
        if (inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn)
                or inspect.isasyncgenfunction(fn)):
            raise ArgumentTypeError(
                f"rblock.block cannot decorate {fn.__qualname__}: its body runs after the call "
                "returns, outside the block. Open the block inside it: `with rblock.block(...):`."
            )
        return _decorate(fn, self)


def _decorate(fn, b):
    """`fn` run inside a fresh entry of block `b` on every call (a with-statement around its
    body). Its call site is where `fn` is defined, wherever it is called from (Note [Block reuse]);
    the caller's for a callable without code."""
    code = getattr(fn, "__code__", None)
    site = (code.co_filename, code.co_firstlineno) if code is not None else None

    @functools.wraps(fn)
    def in_block(*args, **kwargs):
        token = _enter(b, site)
        try:
            return fn(*args, **kwargs)
        finally:
            _C.exit_block(token, True)  # final: nothing could leave this entry later

    return in_block


# ---- seeding ---------------------------------------------------------------------------------


def set_seed(seed):
    """Seeds rb: installs block 0 of ``seed`` (an int in [0, 2**64)) into torch's CPU and CUDA
    generators, Python's ``random`` and NumPy's global generator, and records it as the reference
    state. Call it once, at the start of the program, outside every block."""
    seed = _check_seed(seed, "seed")
    if _C.block_depth() != 0:
        raise Error(
            f"rblock.set_seed({seed}) called inside a block: set the seed once, at the start of the "
            "program, outside every block."
        )
    _C.set_seed(seed)
    _C.install_python_states(_C.derive_key(seed, 0), _C.RANDOM | _C.NUMPY)
    compiled.own_fallback_random()  # Note [Random ops under torch.compile]


def initial_seed():
    """The seed given to ``rblock.set_seed``; raises ``rblock.Error`` before it."""
    try:
        return _C.initial_seed()
    except Error:
        raise Error(_UNSEEDED.format(what="rblock.initial_seed() called")) from None


def reset_to_reference_state():
    """Puts every covered generator back into its state right after ``rblock.set_seed`` (block
    0). Open blocks stay open."""
    try:
        seed = _C.initial_seed()
    except Error:
        raise Error(_UNSEEDED.format(what="reset_to_reference_state() called")) from None
    _C.reset_to_reference_state()
    _C.install_python_states(_C.derive_key(seed, 0), _C.RANDOM | _C.NUMPY)


def generator(block_seed, device="cpu"):
    """A ``torch.Generator`` at the start of block ``block_seed``'s rb stream: rb's counter-based
    Philox generator. Element i of what it draws depends only on the stream and i, so the same call
    gives the same bits on the CPU and on any GPU, for any number of threads:

        g = rblock.generator(7)
        x = torch.rand(1000, generator=g)
        y = torch.rand(1000, generator=rblock.generator(7, "cuda"), device="cuda")  # y.cpu() == x

    A CPU generator fills CPU tensors, a CUDA one CUDA tensors. Ops rb does not cover (poisson,
    binomial, gamma, dirichlet) refuse it with ``rblock.Error``. Its ``initial_seed()`` is the block
    seed; ``get_state()``/``set_state()`` round-trip; raises ``rblock.Error`` before ``set_seed``.
    """
    block_seed = _check_seed(block_seed, "block_seed")
    device = torch.device(device)
    if device.type not in ("cpu", "cuda"):
        raise ArgumentError(f"rblock.generator: device must be 'cpu' or 'cuda', got {device}")
    try:
        return _C.generator(block_seed, str(device))
    except Error:
        raise Error(_UNSEEDED.format(what="rblock.generator() called")) from None


from .kernels import BlockContext, Stream, WorkerBlock, current_context, reserve  # noqa: E402
from . import distributed as _distributed  # noqa: E402  (it uses the names above)
from .distributed import check_consistent, set_rank, worker_init_fn  # noqa: E402
from .checkpoint import load_state_dict, state_dict  # noqa: E402
from .audit import (  # noqa: E402
    ReuseWarning, reuse_policy, set_reuse_policy, stop_trace, trace, tracing,
)
