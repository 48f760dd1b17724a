"""Triton device functions that draw rb's streams with rb's element mapping: the Python twin of
``rb::Stream::draw`` and ``rb/convert.hpp``, so that a Triton kernel gets the bits of rb's generator
(rb's ``Note [Element mapping]``).

    import rblock, rblock.triton as rbt

    @triton.jit
    def fill_uniform(out, n, key, base, domain, substream, BLOCK: tl.constexpr):
        j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)      # one Philox output per lane
        w0, w1, w2, w3 = rbt.draw4(key, base, domain, substream, j)
        i = 4 * j                                                # elements 4j .. 4j + 3
        tl.store(out + i, rbt.uniform_f32(w0), mask=i < n)
        ...

    s = rblock.reserve((n + 3) // 4)
    fill_uniform[grid](out, n, *s.args(), BLOCK=256)  # torch.rand(n) of rb's generator there

Every function is exact integer arithmetic or an exactly rounded conversion, so the interpreter
(``TRITON_INTERPRET=1``, on the CPU) and every GPU give the same bits. Normals are not here: rb's
use its portable logarithm and sincospi, which this module does not port (``tl.log`` and
``tl.cos`` differ from them in the last bits).

Thresholds and scales that rb computes in double on the host come from the host helpers
``bernoulli_threshold``, ``bernoulli_threshold64`` and ``dropout_scale`` (Triton passes Python
floats as float32).
"""

import math

try:
    import triton
    import triton.language as tl
except ImportError as e:  # pragma: no cover - the tests skip without Triton
    raise ImportError(
        "rblock.triton needs Triton: `pip install triton` (torch's Linux wheels with CUDA install "
        "it); rblock.reserve works without it."
    ) from e

import numpy as np

__all__ = [
    "draw4", "word64", "uniform_f32", "uniform_f64", "randint32", "randint64", "bernoulli",
    "bernoulli64", "bernoulli_threshold", "bernoulli_threshold64", "dropout_scale",
]


@triton.jit
def draw4(key, base, domain, substream, j):
    """The four 32-bit words of output ``j`` (a block of output indices, any integer type) of the
    stream ``(key, base, domain, substream)`` (``rblock.Stream.args()``): ``philox((lo(base + j),
    hi(base + j), domain, substream), key)``, Philox4x32-10 as Random123 defines it."""
    position = base.to(tl.uint64) + j.to(tl.uint64)
    c0 = (position & 0xFFFFFFFF).to(tl.uint32)
    c1 = (position >> 32).to(tl.uint32)
    c2 = tl.zeros_like(c0) + domain.to(tl.uint32)
    c3 = tl.zeros_like(c0) + substream.to(tl.uint32)
    return tl.philox(key, c0, c1, c2, c3, 10)


@triton.jit
def word64(lo, hi):
    """The 64-bit word of a 64-bit element: words 2k (low) and 2k + 1 (high) of one output."""
    return lo.to(tl.uint64) | (hi.to(tl.uint64) << 32)


@triton.jit
def uniform_f32(w):
    """float32 uniform in [0, 1) from a 32-bit word, as ``rb::uniform_float``: (w >> 8) 2^-24."""
    return (w >> 8).to(tl.float32) * 5.9604644775390625e-08


@triton.jit
def uniform_f64(lo, hi):
    """float64 uniform in [0, 1) from words lo, hi, as ``rb::uniform_double``: (x >> 11) 2^-53."""
    return (word64(lo, hi) >> 11).to(tl.float64) * 1.1102230246251565e-16


@triton.jit
def randint32(w, low, range):
    """An int64 in [low, low + range) from a 32-bit word, 1 <= range <= 2**32, as rb's random_ and
    randint (``rb::bounded32``: multiply-high, no rejection)."""
    return low.to(tl.int64) + ((w.to(tl.uint64) * range.to(tl.uint64)) >> 32).to(tl.int64)


@triton.jit
def _mulhi64(a, b):
    a_lo = a & 0xFFFFFFFF
    a_hi = a >> 32
    b_lo = b & 0xFFFFFFFF
    b_hi = b >> 32
    mid1 = a_hi * b_lo + ((a_lo * b_lo) >> 32)
    mid2 = a_lo * b_hi + (mid1 & 0xFFFFFFFF)
    return a_hi * b_hi + (mid1 >> 32) + (mid2 >> 32)


@triton.jit
def randint64(lo, hi, low, range):
    """An int64 in [low, low + range) from words lo, hi of a 64-bit element, range >= 1 (0 means
    2**64: the word itself), as rb's random_ for ranges beyond 2**32 (``rb::bounded64``)."""
    x = word64(lo, hi)
    r = range.to(tl.uint64)
    offset = tl.where(r == 0, x, _mulhi64(x, r))
    return (low.to(tl.int64).to(tl.uint64, bitcast=True) + offset).to(tl.int64, bitcast=True)


@triton.jit
def bernoulli(w, threshold):
    """Bernoulli(p) from a 32-bit word, as ``rb::bernoulli``: w < p 2^32, with ``threshold`` =
    ``bernoulli_threshold(p)``."""
    return w.to(tl.uint64) < threshold.to(tl.uint64)


@triton.jit
def bernoulli64(lo, hi, threshold):
    """Bernoulli(p) from a 64-bit element: uniform_f64 < p, with ``threshold`` =
    ``bernoulli_threshold64(p)``."""
    return (word64(lo, hi) >> 11) < threshold.to(tl.uint64)


def _check_probability(p):
    p = float(p)
    if not 0.0 <= p <= 1.0:
        from . import ArgumentError

        raise ArgumentError(f"rblock.triton: a probability must be in [0, 1], got {p}")
    return p


def bernoulli_threshold(p):
    """The integer T with w < T exactly when rb's 32-bit Bernoulli(p) is 1: ceil(p 2^32) (rb
    compares w < p 2^32 in double; p 2^32 is exact)."""
    return math.ceil(_check_probability(p) * 2.0**32)


def bernoulli_threshold64(p):
    """The integer T with (x >> 11) < T exactly when rb's 64-bit Bernoulli(p) is 1: ceil(p 2^53)."""
    return math.ceil(_check_probability(p) * 2.0**53)


def dropout_scale(p, dtype="float32"):
    """What rb's dropout multiplies a kept element by, as a value of ``dtype`` (float32 or
    float64): 1 / (1 - p) rounded in that type, as torch's CPU dropout computes it (Note [Dropout
    in a philox block]); 0 when p is 1. The mask keeps an element with ``bernoulli(w,
    bernoulli_threshold(1 - p))`` (64-bit elements for float64)."""
    p = _check_probability(p)
    if p == 1.0:
        return 0.0
    t = np.float32 if str(dtype).replace("torch.", "") == "float32" else np.float64
    return float(t(1.0) / t(1.0 - p))
