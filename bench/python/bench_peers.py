"""rb's CPU samplers beside its peers, in one process and one run: rb's generator
(rblock.generator), torch's default CPU generator, Intel oneMKL's vector statistics (through
mkl_random's MKLRandomState, Philox4x32-10) and NumPy's Generator(Philox). Run:

    bash bench/python/peers_env.sh && taskset -c 1 \
        build-peers-venv/bin/python bench/python/bench_peers.py [--threads 1] [--json FILE]

peers_env.sh makes build-peers-venv/ (ignored by git) with mkl-random in it; those peers are
benchmark-only, never a dependency of rb. A peer that is not installed is skipped, with a line.

Fills of n = 2^24 elements are in GB/s of bytes written (the median of repeated timed calls after a
warm-up, about 0.5 s a case): rb and torch fill preallocated tensors in place; mkl_random and NumPy
allocate their outputs, so their time includes the allocation. randperm and multinomial rows are
in ms per call. "rb/best" is rb's rate over the best peer's (GB/s rows), or the best peer's time
over rb's (ms rows): above 1, rb is faster. "rb/raw" is an rb fill's GB/s over rb's raw line:
int64 random_(-2**63, None), whose kernel (Random64 with range 0, src/ops/integers.cpp) writes each
64-bit Philox word as it is, so its bytes are Philox's output bytes.

"-" marks a call a peer lacks: mkl_random's samplers are float64 only, NumPy's lognormal and
cauchy too, and neither has a bernoulli fill nor a batched multinomial. oneMKL's standard_normal
has three methods: ICDF (its default) shares the row with rb; BoxMuller and BoxMuller2 follow on
rows of their own, beside the same rb number.
"""

import argparse
import collections
import json
import os
import platform
import tempfile

import torch

import rblock

from bench_common import cpu_name, timed

N = 2**24
PEERS = ("rb", "torch", "oneMKL", "NumPy")
F32, F64, I32, I64 = torch.float32, torch.float64, torch.int32, torch.int64
NAME = {F32: "float32", F64: "float64"}  # also the dtype= that NumPy and mkl_random take
SAME = "same"  # a case whose rb (and torch) value is the row above's: another oneMKL method

# name; unit ("GB/s" or "ms"); torch: g -> call, run with rb's and torch's generator (or SAME);
# mkl: MKLRandomState -> call; numpy: Generator -> call. A call is a callable of no argument.
Case = collections.namedtuple("Case", "name unit torch mkl numpy",
                              defaults=("GB/s", None, None, None))


def fill(dtype, method, *args):
    """g -> an in-place fill of a fresh n-element tensor: t.method(*args, generator=g)."""
    def bind(g):
        t = torch.empty(N, dtype=dtype)
        return lambda: getattr(t, method)(*args, generator=g)
    return bind


def tcall(fn, *args):
    """g -> fn(*args, generator=g), for torch functions (randperm, multinomial)."""
    return lambda g: lambda: fn(*args, generator=g)


def call(name, /, *args, **kwargs):
    """peer object -> obj.name(*args, **kwargs), for mkl_random's and NumPy's generators."""
    return lambda obj: lambda: getattr(obj, name)(*args, **kwargs)


def cases(have_numpy):
    """Every row of the table, in order (peers take dtypes by name: no NumPy needed here)."""
    rows = [Case("raw: int64 random_(-2^63, None)", torch=fill(I64, "random_", -2**63, None),
                 mkl=call("randint", 0, 2**64, size=N, dtype="uint64"),  # viRngUniformBits64
                 numpy=lambda r: lambda: r.bit_generator.random_raw(N))]
    for dt in (F32, F64):  # oneMKL's samplers are float64 only
        rows.append(Case(f"uniform {NAME[dt]}", torch=fill(dt, "uniform_"),
                         mkl=call("uniform", 0.0, 1.0, N) if dt is F64 else None,
                         numpy=call("random", N, dtype=NAME[dt])))
    rows.append(Case("randint [0, 2^31) int32", torch=fill(I32, "random_", 0, 2**31),
                     mkl=call("randint", 0, 2**31, size=N, dtype="int32"),
                     numpy=call("integers", 0, 2**31, size=N, dtype="int32")))
    for dt in (F32, F64):
        label = f"normal {NAME[dt]}" + (" [oneMKL ICDF]" if dt is F64 else "")
        rows.append(Case(label, torch=fill(dt, "normal_"),
                         mkl=call("standard_normal", N, method="ICDF") if dt is F64 else None,
                         numpy=call("standard_normal", N, dtype=NAME[dt])))
    rows += [Case(f"  normal float64 [oneMKL {m}]", torch=SAME,
                  mkl=call("standard_normal", N, method=m)) for m in ("BoxMuller", "BoxMuller2")]
    for dt in (F32, F64):
        rows.append(Case(f"exponential {NAME[dt]}", torch=fill(dt, "exponential_"),
                         mkl=call("standard_exponential", N) if dt is F64 else None,
                         numpy=call("standard_exponential", N, dtype=NAME[dt])))
    for op, peer_op in (("log_normal_", "lognormal"), ("cauchy_", "standard_cauchy")):
        for dt in (F32, F64):  # float64 only, in both peers
            same_call = call(peer_op, size=N) if dt is F64 else None
            rows.append(Case(f"{op[:-1]} {NAME[dt]}", torch=fill(dt, op), mkl=same_call,
                             numpy=same_call))
    rows += [Case("geometric(0.3) int32 [NumPy int64]", torch=fill(I32, "geometric_", 0.3),
                  mkl=call("geometric", 0.3, size=N), numpy=call("geometric", 0.3, size=N)),
             Case("bernoulli_(0.5) float32", torch=fill(F32, "bernoulli_", 0.5))]

    tokens, weights = torch.rand(32, 50257), torch.rand(2**20)
    p = (weights.double() / weights.double().sum()).numpy() if have_numpy else None
    rows += [Case("randperm(2^20)", "ms", tcall(torch.randperm, 2**20),
                  call("permutation", 2**20), call("permutation", 2**20)),
             Case("multinomial(32x50257, 1)", "ms", tcall(torch.multinomial, tokens, 1)),
             Case("multinomial(2^20, 1000)", "ms", tcall(torch.multinomial, weights, 1000),
                  call("choice", 2**20, 1000, replace=False, p=p),
                  call("choice", 2**20, 1000, replace=False, p=p)),
             Case("multinomial(2^20, 1000, True)", "ms",
                  tcall(torch.multinomial, weights, 1000, True),
                  call("choice", 2**20, 1000, p=p), call("choice", 2**20, 1000, p=p))]
    return rows


def load_peers(threads):
    """(NumPy's Generator or None, mkl_random's MKLRandomState or None, header lines)."""
    os.environ.setdefault("MKL_NUM_THREADS", str(threads))  # read when MKL loads
    lines = []
    try:
        import numpy as np
        rng = np.random.Generator(np.random.Philox(1))
        lines.append(f"NumPy {np.__version__}: Generator(Philox(1)), one thread")
    except ImportError as e:
        rng = None
        print(f"NumPy: skipped (numpy not installed: {e})")
    rs = None
    try:
        import mkl_random
        rs = mkl_random.MKLRandomState(1, brng="PHILOX4X32X10")  # RandomState: deprecated
        # An unknown brng name falls back to MT19937 with only a warning: make sure it did not.
        assert rs.get_state()[0] == "PHILOX4X32X10", rs.get_state()[0]
        lines.append(f"oneMKL via mkl_random {mkl_random.__version__}: MKLRandomState(1, "
                     f"brng='PHILOX4X32X10'), MKL_NUM_THREADS={os.environ['MKL_NUM_THREADS']}")
    except ImportError:
        print("oneMKL: skipped (mkl_random not installed: run bench/python/peers_env.sh)")
    return rng, rs, lines


def rb_cpu_isa():
    """The ISA of rb's CPU kernels, as the first line of an rb trace records it."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "trace.jsonl")
        with rblock.trace(path):
            pass
        with open(path) as f:
            return json.loads(f.readline())["cpu_isa"]


def measure(case, gens, rs, rng, above):
    """{peer: GB/s or ms, or None where the peer lacks the call} for one case."""
    binds = {"oneMKL": (case.mkl, rs), "NumPy": (case.numpy, rng)}
    if case.torch is SAME:
        out = {"rb": above["rb"], "torch": None}
    else:
        binds.update({"rb": (case.torch, gens["rb"]), "torch": (case.torch, gens["torch"])})
        out = {}
    for peer, (bind, obj) in binds.items():
        if bind is None or obj is None:
            out[peer] = None
            continue
        seconds, result = timed(bind(obj))
        out[peer] = 1e3 * seconds if case.unit == "ms" else result.nbytes / seconds / 1e9
    return {peer: out[peer] for peer in PEERS}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng, rs, peer_lines = load_peers(args.threads)
    rblock.set_seed(42)
    rblock.set_reuse_policy("allow")
    gens = {"rb": rblock.generator(1), "torch": torch.Generator().manual_seed(1)}

    header = [f"CPU: {cpu_name()} ({platform.machine()}); rb {rblock.__version__}, CPU ISA "
              f"{rb_cpu_isa()}; torch {torch.__version__}, {args.threads} thread(s)", *peer_lines,
              f"n = 2^{N.bit_length() - 1} elements; raw line: rb's int64 "
              "t.random_(-2**63, None, generator=g), one 64-bit Philox word per element as it is"]
    print("\n".join(header))
    print(f"{'op':36}" + "".join(f"{p:>9}" for p in PEERS) + f"{'rb/best':>9}{'rb/raw':>8}  unit")
    results, above, raw = {}, None, None
    for case in cases(rng is not None):
        row = measure(case, gens, rs, rng, above)
        peers = [v for p, v in row.items() if p != "rb" and v is not None]
        ratio = None
        if peers:  # above 1: rb is faster
            ratio = row["rb"] / max(peers) if case.unit == "GB/s" else min(peers) / row["rb"]
        raw = row["rb"] if raw is None else raw
        of_raw = row["rb"] / raw if case.unit == "GB/s" else None
        results[case.name.strip()] = {"unit": case.unit, **row, "rb_over_best_peer": ratio,
                                      "rb_over_raw": of_raw}
        cells = "".join(f"{v:9.3f}" if v is not None else f"{'-':>9}" for v in row.values())
        print(f"{case.name:36}{cells}" + (f"{ratio:8.2f}x" if ratio else f"{'-':>9}")
              + (f"{of_raw:8.2f}" if of_raw else f"{'':8}") + f"  {case.unit}", flush=True)
        above = row
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"header": header, "n": N, "threads": args.threads, "results": results}, f,
                      indent=1)


if __name__ == "__main__":
    main()
