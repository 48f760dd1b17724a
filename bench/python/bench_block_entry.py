"""Entering and leaving a block against the block seed: rblock, rb's reproducible_block and the
original torch-reproducible-block 0.0.1 from PyPI, in the same process and the same run; then what
a per-sample block costs (a path made per sample; torch only or every generator) beside seeding
torch, random and NumPy by hand.

    python3 bench/python/bench_block_entry.py [--json bench/results/python_block_entry.json]
    python3 bench/python/bench_block_entry.py --per-sample-only

The original is installed (once) with `pip install --no-deps --target build-python/trb-original
torch-reproducible-block==0.0.1` and imported from that folder under the name `trb_original`, so it
never shadows rb's `reproducible_block`. It replays `block_seed` draws on entry, so it gets fewer
repeats as the block seed grows, and no block seed beyond --original-max.
"""

import argparse
import datetime
import importlib.util
import json
import os
import pathlib
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import rblock
from reproducible_block import Reproducible_Block

from bench_common import cpu_name

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = [0, 1, 10, 100, 10**3, 10**4, 10**5, 10**6, 2**32, 2**64 - 1]
ORIGINAL_VERSION = "0.0.1"


def load_original(folder):
    """The original package's module, from `folder`, under the name trb_original."""
    source = folder / "reproducible_block.py"
    if not source.exists():
        print(f"installing torch-reproducible-block=={ORIGINAL_VERSION} into {folder}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                        str(folder), f"torch-reproducible-block=={ORIGINAL_VERSION}"], check=True)
    spec = importlib.util.spec_from_file_location("trb_original", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_entry(make_block, block_seed, budget_s, max_calls):
    """Seconds per enter+leave of make_block(block_seed): the median over rounds, and the fastest
    round. Rounds of `calls` entries, sized to the budget from a first timed entry."""
    b = make_block(block_seed)
    t = time.perf_counter()
    with b:
        pass
    first = time.perf_counter() - t
    calls = max(1, min(max_calls, int(0.02 / max(first, 1e-9))))  # ~20 ms a round
    rounds = max(3, min(15, int(budget_s / max(first * calls, 1e-9))))
    per_call = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            with b:
                pass
        per_call.append((time.perf_counter() - t) / calls)
    return statistics.median(per_call), min(per_call), rounds * calls


def time_call(fn, budget_s, calls=2000):
    """Median and fastest seconds per call of fn(), over rounds of `calls` calls."""
    fn()
    per_call = []
    deadline = time.perf_counter() + budget_s
    while len(per_call) < 5 or (time.perf_counter() < deadline and len(per_call) < 50):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        per_call.append((time.perf_counter() - t) / calls)
    return statistics.median(per_call), min(per_call)


def per_sample(budget_s):
    """Rows of the per-sample table: (name, median us, fastest us), rb and its peers in this run."""
    full, torch_only = rblock.block(10**4), rblock.block(10**4, generators=("torch",))
    index = iter(range(10**12))

    def enter_leave(b):
        with b:
            pass

    def made_per_sample(**options):
        with rblock.block(("augment", 3, next(index)), **options):
            pass

    def seed_by_hand():  # what per-sample seeding without rb costs: 32-bit seeds, three calls
        s = next(index) & 0xFFFFFFFF
        random.seed(s)
        np.random.seed(s)
        torch.default_generator.manual_seed(s)

    rows = [
        ("rblock.block(s): torch, random, NumPy", lambda: enter_leave(full)),
        ('rblock.block(s, generators=("torch",))', lambda: enter_leave(torch_only)),
        ('rblock.block(("augment", epoch, i)), made per sample', made_per_sample),
        ('rblock.block(("augment", epoch, i), generators=("torch",)), made per sample',
         lambda: made_per_sample(generators=("torch",))),
        ("torch.manual_seed(s)", lambda: torch.manual_seed(next(index))),
        ("torch.default_generator.manual_seed(s)",
         lambda: torch.default_generator.manual_seed(next(index))),
        ("random.seed, np.random.seed, torch.default_generator.manual_seed", seed_by_hand),
    ]
    out = []
    for name, fn in rows:
        median, fastest = time_call(fn, budget_s)
        out.append({"impl": name, "median_us": median * 1e6, "min_us": fastest * 1e6})
    # What finding divergences costs (rblock's README, "When a run does not reproduce"): the
    # first row checks reuses (the default policy); without the check, and traced to a file.
    rblock.set_reuse_policy("allow")
    audit_rows = [('rblock.block(s), set_reuse_policy("allow")',
                   time_call(lambda: enter_leave(full), budget_s))]
    rblock.set_reuse_policy("warn")
    with tempfile.TemporaryDirectory() as folder, rblock.trace(os.path.join(folder, "t.jsonl")):
        audit_rows.append(("rblock.block(s), traced (rblock.trace)",
                           time_call(lambda: enter_leave(full), budget_s)))
    for name, (median, fastest) in audit_rows:
        out.append({"impl": name, "median_us": median * 1e6, "min_us": fastest * 1e6})
    return out


def print_per_sample(rows):
    print("\nPer-sample blocks: median (fastest) us per call, in this run")
    for r in rows:
        print(f"  {r['impl']:<82} {r['median_us']:8.2f} ({r['min_us']:.2f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=pathlib.Path, help="also write the results to this file")
    parser.add_argument("--original-dir", type=pathlib.Path, default=ROOT / "build-python" / "trb-original")
    parser.add_argument("--original-max", type=int, default=10**5,
                        help="largest block seed timed for the original (it replays that many draws)")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per measurement, about")
    parser.add_argument("--per-sample-only", action="store_true",
                        help="only the per-sample table (no original package, no seed sweep)")
    args = parser.parse_args()
    machine = {"cpu": cpu_name(), "cores": __import__("os").cpu_count(),
               "python": platform.python_version(), "torch": torch.__version__,
               "numpy": np.__version__, "cuda_devices": torch.cuda.device_count()}
    if args.per_sample_only:
        Reproducible_Block.set_seed(42)
        rows = per_sample(max(args.budget, 1.0))
        print_per_sample(rows)
        write_json(args.json, machine, {"per_sample": rows})
        return

    original = load_original(args.original_dir)
    impls = {
        "rblock": lambda s: rblock.block(s),
        "rblock restore": lambda s: rblock.block(s, restore=True),
        "reproducible_block": lambda s: Reproducible_Block(block_seed=s),
        "original": lambda s: original.Reproducible_Block(block_seed=s),
    }
    original.Reproducible_Block.set_seed(42)
    Reproducible_Block.set_seed(42)  # rb's, which also seeds rblock

    results = []
    for seed in SEEDS:
        for name, make in impls.items():
            if name == "original" and seed > args.original_max:
                continue
            median, fastest, n = time_entry(make, seed, args.budget, max_calls=1000)
            results.append({"impl": name, "block_seed": seed, "median_us": median * 1e6,
                            "min_us": fastest * 1e6, "entries": n})

    rows = per_sample(max(args.budget, 1.0))

    by = {(r["impl"], r["block_seed"]): r["median_us"] for r in results}
    print(f"\nEntering and leaving a block, median us per entry ({machine['cpu']}, {machine['cores']} cores, "
          f"torch {machine['torch']}, {machine['cuda_devices']} CUDA devices)")
    columns = list(impls)
    print(f"{'block seed':>22} " + " ".join(f"{c:>18}" for c in columns) + f" {'original/rblock':>16}")
    for seed in SEEDS:
        cells = [f"{by[(c, seed)]:18.1f}" if (c, seed) in by else f"{'-':>18}" for c in columns]
        ratio = by.get(("original", seed), 0) / by[("rblock", seed)]
        shown = "-" if not ratio else f"{ratio:.1f}" if ratio < 10 else f"{ratio:.0f}"
        print(f"{seed:>22} " + " ".join(cells) + f" {shown:>16}")
    at = 10**4
    ratios = {}
    if ("original", at) in by:
        ratios = {c: by[("original", at)] / by[(c, at)] for c in columns if c != "original"}
        print(f"\nAt block seed 10^4 the original takes {by[('original', at)] / 1e3:.1f} ms, as long as "
              + ", ".join(f"{r:.0f} entries of {c}" for c, r in ratios.items()))

    print_per_sample(rows)
    write_json(args.json, machine, {"original": f"torch-reproducible-block {ORIGINAL_VERSION}",
                                    "results": results, "ratio_original_over_at_1e4": ratios,
                                    "per_sample": rows})


def write_json(path, machine, fields):
    if not path:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "benchmark": "python_block_entry",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine, **fields}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
