"""The cost of one small random call (16 elements), where the call's overhead is all there is: torch
before rb routes anything (before rblock.set_seed), then after it outside blocks, in a torch-engine
block and in a philox-engine block; and an explicit generator, torch's against rb's. Best of 5 runs
of timeit, ns per call, one thread, one process.

    taskset -c 1 python3 bench/python/bench_small_calls.py [--json FILE]
"""

import argparse
import json
import timeit

import torch

import rblock

from bench_common import cpu_name

CALLS = [
    "t.uniform_()",
    "t.normal_()",
    "torch.randn(16)",
    "torch.rand(16)",
    "t.bernoulli_(0.5)",
    "t.exponential_()",
    "ti.random_(0, 10)",
    "torch.randint(0, 10, (16,))",
    "torch.randperm(16)",
    "torch.multinomial(w, 1)",
    "torch.multinomial(w2, 4, True)",
    "torch.nn.functional.dropout(t, 0.5, True)",
]
# With an explicit generator {g}: torch.Generator against rblock.generator.
GENERATOR_CALLS = [
    "t.uniform_(generator={g})",
    "t.normal_(generator={g})",
    "t.exponential_(generator={g})",
    "torch.rand(16, generator={g})",
    "torch.randperm(16, generator={g})",
]


def ns(stmt, env, number=20000):
    return 1e9 * min(timeit.repeat(stmt, number=number, repeat=5, globals=env)) / number


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    env = {"torch": torch, "t": torch.empty(16), "ti": torch.empty(16, dtype=torch.int64),
           "w": torch.rand(16), "w2": torch.rand(4, 16)}
    pristine = {c: ns(c, env) for c in CALLS}  # rb routes nothing before set_seed
    rblock.set_seed(42)
    rblock.set_reuse_policy("allow")  # the blocks below are entered once each
    outside = {c: ns(c, env) for c in CALLS}
    with rblock.block(1):
        torch_block = {c: ns(c, env) for c in CALLS}
    with rblock.block(2, engine="philox"):
        philox = {c: ns(c, env) for c in CALLS}
    env["torch_gen"] = torch.Generator().manual_seed(1)
    env["rb_gen"] = rblock.generator(1)
    generators = {c: (ns(c.format(g="torch_gen"), env), ns(c.format(g="rb_gen"), env))
                  for c in GENERATOR_CALLS}

    print(f"{cpu_name()}; torch {torch.__version__}, 1 thread; ns per call, 16 elements")
    print(f"{'call':44} {'torch':>7} {'routed':>7} {'torch blk':>9} {'philox':>7} {'torch blk/philox':>16}")
    for c in CALLS:
        print(f"{c:44} {pristine[c]:7.0f} {outside[c]:7.0f} {torch_block[c]:9.0f} {philox[c]:7.0f} "
              f"{torch_block[c] / philox[c]:15.2f}x")
    print(f"{'call':44} {'torch.Generator':>15} {'rblock.generator':>16} {'ratio':>7}")
    for c, (t, r) in generators.items():
        print(f"{c.format(g='g'):44} {t:15.0f} {r:16.0f} {t / r:6.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "cpu": cpu_name(), "pristine": pristine,
                       "routed": outside, "torch_block": torch_block, "philox_block": philox,
                       "generators": generators}, f, indent=1)


if __name__ == "__main__":
    main()
