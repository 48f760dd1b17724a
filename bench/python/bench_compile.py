"""A compiled training step under rb against the same compiled step outside rb: a small MLP with
dropout on the CPU, compiled by Inductor, in a torch-engine block, in a philox-engine block and
(in a fresh process that never seeds rb, so that Inductor uses its own random numbers) outside rb.
The rounds alternate between the two processes; each prints median ms per step.

    taskset -c 1 python3 bench/python/bench_compile.py [--rounds 3] [--json FILE]

Measured after warm-up; rb's steps run with torch._dynamo.config.error_on_recompile, so a block or
engine that made the step recompile would stop the benchmark.
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

BATCH, WIDTH, STEPS = 256, 512, 30


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(WIDTH, WIDTH)
        self.fc2 = torch.nn.Linear(WIDTH, WIDTH)
        self.fc3 = torch.nn.Linear(WIDTH, 10)

    def forward(self, x):
        x = F.dropout(self.fc1(x).relu(), 0.2, self.training)
        x = F.dropout(self.fc2(x).relu(), 0.2, self.training)
        return self.fc3(x)


def make_step():
    torch.manual_seed(0)
    net = MLP()
    compiled = torch.compile(net)
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-3)
    x, y = torch.randn(BATCH, WIDTH), torch.randint(0, 10, (BATCH,))

    def step():
        loss = F.cross_entropy(compiled(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def ms_per_step(step, context):
    times = []
    for _ in range(STEPS):
        with context():
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def outside_rb(rounds):
    """The baseline process: rb never seeded, Inductor's own random numbers."""
    import contextlib

    step = make_step()
    for _ in range(3):
        step()  # compile and warm up
    return [ms_per_step(step, contextlib.nullcontext) for _ in range(rounds)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--baseline-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.baseline_child:
        print(json.dumps(outside_rb(1)))
        return

    import rblock

    rblock.set_seed(42)
    rblock.set_reuse_policy("allow")  # block 7, entered from several lines on purpose
    step = make_step()
    engines = {"torch": lambda: rblock.block(7), "philox": lambda: rblock.block(7, engine="philox")}
    for context in engines.values():
        for _ in range(2):
            with context():
                step()  # compile and warm up in each engine
    results = {"outside rb": [], "torch engine": [], "philox engine": []}
    with torch._dynamo.config.patch(error_on_recompile=True):
        for _ in range(args.rounds):
            child = subprocess.run([sys.executable, __file__, "--baseline-child"], check=True,
                                   capture_output=True, text=True)
            results["outside rb"] += json.loads(child.stdout.strip().splitlines()[-1])
            results["torch engine"].append(ms_per_step(step, engines["torch"]))
            results["philox engine"].append(ms_per_step(step, engines["philox"]))
    base = statistics.median(results["outside rb"])
    print(f"compiled MLP step ({BATCH}x{WIDTH}, 2 dropout layers, Inductor, CPU, 1 thread), "
          f"torch {torch.__version__}, {platform.processor() or platform.machine()}")
    print(f"{'':16} {'ms/step':>8} {'vs outside rb':>14}")
    for name, values in results.items():
        m = statistics.median(values)
        rounds = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name:16} {m:8.2f} {m / base:13.2f}x   (rounds: {rounds})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "results_ms": results}, f, indent=1)


if __name__ == "__main__":
    main()
