"""Kernels of your own on rb's streams: ``rblock.reserve`` (the Python face of ``rb::reserve``),
``rblock.Stream``, and ``rblock.WorkerBlock`` for threads that continue a block. A Triton kernel
reads a reservation through ``rblock.triton`` (see rb's README, "Triton kernels").

    s = rblock.reserve((n + 3) // 4)          # one Philox output per 4 float32 elements
    kernel[grid](out, n, *s.args(), BLOCK=1024)
"""

import threading

from . import _C, ArgumentError, ArgumentTypeError, Error, _UNSEEDED, _check_seed

__all__ = ["Stream", "reserve", "BlockContext", "current_context", "WorkerBlock"]

_MAX_U64 = 2**64 - 1


class Stream:
    """A reservation of consecutive outputs of an rb stream (``rb::Stream``): output ``j``, for
    ``0 <= j < n_counters``, is ``philox((lo(base + j), hi(base + j), domain, substream), key)``
    (rb's ``Note [Counter layout]``). Immutable; ``args()`` is what a kernel launch takes."""

    __slots__ = ("key", "base", "domain", "substream", "n_counters")

    def __init__(self, key, base, domain, substream, n_counters):
        for name, value in (("key", key), ("base", base), ("domain", domain),
                            ("substream", substream), ("n_counters", n_counters)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError("rblock.Stream is immutable")

    def args(self):
        """``(key, base, domain, substream)``: the 64-bit Philox key, the 64-bit position of output
        0, and the counter words c2 and c3, in the order ``rblock.triton.draw4`` takes them."""
        return (self.key, self.base, self.domain, self.substream)

    def draw(self, j):
        """Output ``j`` of the reservation, computed on the host: four 32-bit words."""
        j = _check_seed(j, "Stream.draw's j")
        if j >= self.n_counters:
            raise ArgumentError(
                f"rblock: Stream.draw({j}) is beyond the reservation of {self.n_counters} outputs")
        position = (self.base + j) & _MAX_U64
        return _C.philox((position & 0xFFFFFFFF, position >> 32, self.domain, self.substream),
                         self.key)

    def __repr__(self):
        return (f"rblock.Stream(key=0x{self.key:016x}, base={self.base}, domain={self.domain}, "
                f"substream={self.substream}, n_counters={self.n_counters})")

    def __eq__(self, other):
        if not isinstance(other, Stream):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __hash__(self):
        return hash(tuple(getattr(self, k) for k in self.__slots__))


def reserve(n_counters):
    """Reserves ``n_counters`` consecutive outputs of the rb stream of the calling thread's
    innermost block (block 0's outside blocks; a ``WorkerBlock``'s sub-stream in a worker) and
    advances that stream past them, as ``rb::reserve`` does: consecutive reservations never
    overlap, and the whole sequence repeats under the same seeds. Returns an ``rblock.Stream``.

    Raises ``rblock.Error`` before ``rblock.set_seed``, while a CUDA graph is being captured (a
    captured launch would replay the same numbers) and past the stream's end (2**64 - 1 outputs),
    changing nothing; ``rblock.ArgumentTypeError`` / ``ArgumentError`` for a count that is not an
    int in [0, 2**64)."""
    n_counters = _check_seed(n_counters, "reserve's n_counters")
    try:
        _C.initial_seed()
    except Error:
        raise Error(_UNSEEDED.format(what="rblock.reserve() called")) from None
    key, base, domain, substream = _C.reserve(n_counters)
    return Stream(key, base, domain, substream, n_counters)


class BlockContext:
    """What a worker thread needs to continue a block (``rb::BlockContext``): its block seed, key
    and engine. Get it with ``rblock.current_context()`` and hand it to ``rblock.WorkerBlock``."""

    __slots__ = ("block_seed", "key", "_engine")

    def __init__(self, block_seed, key, engine):
        self.block_seed, self.key, self._engine = block_seed, key, engine

    @property
    def engine(self):
        return "philox" if self._engine == _C.Engine.philox else "torch"

    def __repr__(self):
        return (f"rblock.BlockContext(block_seed={self.block_seed}, key=0x{self.key:016x}, "
                f"engine={self.engine!r})")


def current_context():
    """The calling thread's innermost block (block 0 outside blocks), for ``rblock.WorkerBlock``
    in a thread the program starts. Raises ``rblock.Error`` before ``rblock.set_seed``."""
    try:
        block_seed, key, engine = _C.current_context()
    except Error:
        raise Error(_UNSEEDED.format(what="rblock.current_context() called")) from None
    return BlockContext(block_seed, key, engine)


class WorkerBlock:
    """Continues a block in a worker thread (``rb::WorkerBlock``), as a context manager: inside,
    the thread's philox-engine ops and ``rblock.reserve`` draw the block's key on sub-stream
    ``worker + 1``, whatever the thread timing; torch's, ``random``'s and NumPy's generators are
    left alone (they are process-wide). Give each worker its own index in [0, 2**32 - 2].

        ctx = rblock.current_context()
        def work(i):
            with rblock.WorkerBlock(ctx, i):
                s = rblock.reserve(256)
    """

    def __init__(self, context, worker):
        if not isinstance(context, BlockContext):
            raise ArgumentTypeError(
                f"rblock.WorkerBlock: context must come from rblock.current_context(), not "
                f"{type(context).__name__}")
        worker = _check_seed(worker, "WorkerBlock's worker")
        if worker >= 2**32 - 1:
            raise ArgumentError(
                f"rblock.WorkerBlock: worker must be in [0, 2**32 - 2], got {worker}")
        self._context, self._worker = context, worker
        self._frames = threading.local()

    def __enter__(self):
        frames = getattr(self._frames, "stack", None)
        if frames is None:
            frames = self._frames.stack = []
        c = self._context
        frames.append(_C.enter_worker_block(c.block_seed, c.key, c._engine, self._worker))
        return self

    def __exit__(self, *exc):
        _C.exit_frame(self._frames.stack[-1])  # refused (out of order): the frame stays open
        self._frames.stack.pop()
        return False

