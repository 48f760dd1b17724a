"""rb's randperm and multinomial against torch's, in one process and run (issue 26's ops): rb's
generator (rblock.generator) and a philox-engine block, beside the same call on torch's default
generator; NumPy's Generator(Philox) as a further peer where it applies. Median ms per call.

    taskset -c 1 python3 bench/python/bench_samplers.py [--threads 1] [--json FILE]
"""

import argparse
import json
import platform

import numpy as np
import torch

import rblock

from bench_common import timed


def ms(fn, budget_s=0.4):
    return 1e3 * timed(fn, budget_s)[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rblock.set_seed(42)
    rblock.set_reuse_policy("allow")
    g = rblock.generator(1)
    philox = np.random.Generator(np.random.Philox(1))
    tokens = torch.rand(32, 50257)
    weights = torch.rand(2**20)
    cases = [(f"randperm({n})", lambda n=n: torch.randperm(n), lambda n=n: torch.randperm(n, generator=g),
              lambda n=n: philox.permutation(n))
             for n in [16, 512, 2**12, 2**16, 2**20, 2**22, 2**24]]
    cases += [
        ("multinomial(32x50257, 1)", lambda: torch.multinomial(tokens, 1),
         lambda: torch.multinomial(tokens, 1, generator=g), None),
        ("multinomial(32x50257, 16, True)", lambda: torch.multinomial(tokens, 16, True),
         lambda: torch.multinomial(tokens, 16, True, generator=g), None),
        ("multinomial(2^20, 1000)", lambda: torch.multinomial(weights, 1000),
         lambda: torch.multinomial(weights, 1000, generator=g), None),
        ("multinomial(2^20, 1000, True)", lambda: torch.multinomial(weights, 1000, True),
         lambda: torch.multinomial(weights, 1000, True, generator=g),
         lambda: philox.choice(2**20, 1000, p=(weights.double() / weights.double().sum()).numpy())),
    ]
    print(f"torch {torch.__version__}, {args.threads} thread(s), {platform.machine()}, "
          f"rb's default CPU ISA")
    print(f"{'call':34} {'torch':>9} {'rb gen':>9} {'rb philox':>9} {'NumPy':>9} {'torch/gen':>9} "
          f"{'torch/philox':>12}")
    results = {}
    for name, torch_call, rb_call, numpy_call in cases:
        t = ms(torch_call)
        r = ms(rb_call)

        with rblock.block(3, engine="philox"):  # entered once: the calls' cost, not the block's
            p = ms(torch_call)
        n = ms(numpy_call) if numpy_call else float("nan")
        results[name] = {"torch": t, "rb_generator": r, "rb_philox_block": p, "numpy": n}
        print(f"{name:34} {t:9.4g} {r:9.4g} {p:9.4g} {n:9.4g} {t / r:8.2f}x {t / p:11.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "threads": args.threads, "ms": results}, f, indent=1)


if __name__ == "__main__":
    main()
