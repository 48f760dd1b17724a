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
"""

import functools
import inspect
import operator
import random
import threading

import torch  # loads libtorch before the extension, which links it

from . import _build_info

if torch.__version__ != _build_info.torch_version:
    raise ImportError(
        f"rblock was built against torch {_build_info.torch_version}, but torch {torch.__version__} "
        "is installed: reinstall rblock from rb's sources with `pip install --no-build-isolation .`"
    )

from . import _C  # noqa: E402  (after the check above: another torch may not even load it)
from . import _pickling  # noqa: E402,F401  (registers copy and pickle of rb's generators)

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
    "generator",
    "worker_init_fn",
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


_MAX_SEED = 2**64 - 1
_ENGINES = {"torch": _C.Engine.torch, "philox": _C.Engine.philox}
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


# ---- the Python generators -------------------------------------------------------------------
# See Note [Python generator states] in python/module.cpp for what is installed.


def _install(states):
    """Installs (random state, numpy words) from _C.python_states into random and NumPy."""
    random_state, numpy_words = states
    random.setstate(random_state)
    if _np is not None:
        _np.random.set_state(("MT19937", numpy_words, 624, 0, 0.0))


def _save():
    """The states of random and NumPy, for _put_back."""
    if _np is None:
        return random.getstate(), None
    kind, key, pos, has_gauss, gauss = _np.random.get_state()
    # A list, not the array: set_state reads it 20 us faster (see Note [Python generator states]).
    return random.getstate(), (kind, key.tolist(), pos, has_gauss, gauss)


def _put_back(saved):
    random_state, numpy_state = saved
    random.setstate(random_state)
    if numpy_state is not None:
        _np.random.set_state(numpy_state)


def _block_states(block_seed):
    try:
        return _C.block_python_states(block_seed)
    except Error:
        raise Error(_UNSEEDED.format(what=f"entered block {block_seed}")) from None


# ---- blocks ----------------------------------------------------------------------------------
# A block is entered in this order: every check first (arguments at construction; the seed and a
# possible CUDA graph capture by _block_states and _C.enter_block, which change nothing when they
# raise), then torch's generators (C++), then random and NumPy. It is left in the reverse order:
# _C.exit_block refuses, changing nothing, a block that is not the thread's innermost.


def _enter(block_seed, restore, engine):
    """Enters a block; returns the token that _exit takes."""
    saved = _save() if restore else None
    states = _block_states(block_seed)
    frame = _C.enter_block(block_seed, restore, engine)
    try:
        _install(states)
    except BaseException:  # (an interrupt): leave no frame open behind the caller's back
        _C.exit_block(frame)
        if saved is not None:
            _put_back(saved)
        raise
    return frame, saved


def _exit(token, final=False):
    """Leaves a block. A refused exit changes nothing, unless `final`: nothing could ever leave
    the block again (a decorated call has ended, a generator or coroutine is being closed), so it
    is closed, leaving every generator as it is, and the error still raised where it happened."""
    frame, saved = token
    try:
        _C.exit_block(frame)
    except Error as refusal:
        if not final:
            raise
        _C.close_block(frame)
        raise Error(
            f"{refusal} The block is closed now, without restoring: nothing could leave it later."
        ) from None
    if saved is not None:
        _put_back(saved)


class block:
    """A reproducible block, as a context manager or a decorator.

    ``rblock.block(block_seed, restore=False, engine="torch")``

    While the block is open, torch's CPU generator, the default generator of every CUDA device,
    Python's ``random`` and NumPy's legacy global generator hold the state of (initial seed,
    block_seed), whatever ran before; block 0 is the state right after ``rblock.set_seed``.

    - ``block_seed``: an int in [0, 2**64), a fixed label in the code (not a tuned seed).
    - ``restore``: a bool; if True, on exit (also through an exception) put every covered
      generator back exactly where it was on entry; by default they continue from where the block
      left them.
    - ``engine``: ``"torch"`` (torch's generators draw) or ``"philox"`` (generator-less ops that rb
      covers draw from the block's counter-based stream; torch's generators still get the block).

    A decorated function keeps its name, docstring, signature, arguments and return value, and
    enters a fresh block on every call. Blocks nest, and must be left in the reverse order of
    entering them, on the thread that entered them.

        with rblock.block(44):
            fc = torch.nn.Linear(512, 10)

        @rblock.block(128)
        def train(model, loader, *, epochs=2): ...
    """

    __slots__ = ("block_seed", "restore", "engine", "_engine", "_open")

    def __init__(self, block_seed, restore=False, engine="torch"):
        self.block_seed = _check_seed(block_seed, "block_seed")
        self.restore = _check_flag(restore, "restore")
        self._engine = _check_engine(engine)
        self.engine = engine
        self._open = {}  # thread id -> tokens of this object's open entries, innermost last

    def __repr__(self):
        return f"rblock.block({self.block_seed}, restore={self.restore}, engine={self.engine!r})"

    def __enter__(self):
        token = _enter(self.block_seed, self.restore, self._engine)
        self._open.setdefault(threading.get_ident(), []).append(token)
        return self

    def __exit__(self, exc_type, exc, tb):
        thread = threading.get_ident()
        tokens = self._open.get(thread)
        if not tokens:
            raise Error(
                f"rblock: leaving block {self.block_seed}, which this thread did not enter: leave a "
                "block once, on the thread that entered it."
            )
        # Raises, changing nothing and keeping the entry open, when blocks entered after this one
        # are still open: leaving them first and calling __exit__ again then works. A generator or
        # coroutine being closed (GeneratorExit) never gets that chance: its block is closed.
        final = exc_type is GeneratorExit
        try:
            _exit(tokens[-1], final)
        except Error:
            if final:
                self._forget_innermost(thread)
            raise
        self._forget_innermost(thread)
        return False

    def _forget_innermost(self, thread):
        tokens = self._open[thread]
        tokens.pop()
        if not tokens:
            del self._open[thread]

    def __call__(self, fn):
        if not callable(fn):
            raise ArgumentTypeError(f"rblock.block decorates a function, not {type(fn).__name__}")
        if (inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn)
                or inspect.isasyncgenfunction(fn)):
            raise ArgumentTypeError(
                f"rblock.block cannot decorate {fn.__qualname__}: its body runs after the call "
                "returns, outside the block. Open the block inside it: `with rblock.block(...):`."
            )
        return _decorate(fn, self.block_seed, self.restore, self._engine)


def _decorate(fn, block_seed, restore, engine):
    """`fn` run inside a fresh block on every call (a with-statement around its body)."""

    @functools.wraps(fn)
    def in_block(*args, **kwargs):
        token = _enter(block_seed, restore, engine)
        try:
            return fn(*args, **kwargs)
        finally:
            _exit(token, final=True)

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
    states = _C.python_states(_C.derive_key(seed, 0))
    _C.set_seed(seed)
    _install(states)


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
        states = _C.block_python_states(0)
    except Error:
        raise Error(_UNSEEDED.format(what="reset_to_reference_state() called")) from None
    _C.reset_to_reference_state()
    _install(states)


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


def worker_init_fn(worker_id):
    """Seeds Python's ``random`` and NumPy in a DataLoader worker with full Mersenne Twister
    states, derived by rb from the worker's torch seed:

        loader = DataLoader(dataset, num_workers=2, shuffle=True, worker_init_fn=rblock.worker_init_fn)

    In worker ``worker_id``, ``torch.initial_seed()`` is the base seed DataLoader drew from the
    main process's torch generator when the iterator was created (so under a block it repeats)
    plus ``worker_id``. The worker's states are those of key
    ``derive_key(torch.initial_seed(), worker_id)``, in the python_random and numpy domains.
    """
    key = _C.derive_key(torch.initial_seed() & _MAX_SEED, _check_seed(worker_id, "worker_id"))
    _install(_C.python_states(key))
