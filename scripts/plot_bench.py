#!/usr/bin/env python3
"""Turns rb's benchmark JSON (bench/results/*.json, written by scripts/bench.sh) into PNG plots and
prints the ratios the README's results table quotes, per rb_bench*.json (one per instruction set).

    python3 scripts/plot_bench.py bench/results

Plots: entry_cost.png (entering and leaving a block against the block seed, log-log, C++ and
Python) and throughput.png (GB/s of each fill, rb against torch's default generator, per device).
"""
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    return json.loads(path.read_text()) if path.exists() else None


def entry_series(bench):
    """{method: [(block_seed, ns per enter+exit)]} from the EnterExit/* Google Benchmark rows."""
    series = {}
    for row in bench.get("benchmarks", []):
        name = row["name"]
        if not name.startswith("EnterExit/") or row.get("error_occurred"):
            continue
        if row.get("run_type") == "aggregate":
            continue
        method = name.split("/")[1]
        seed = float(row.get("block_seed", row.get("label", 0)))
        ns = row["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[row["time_unit"]]
        series.setdefault(method, []).append((seed, ns))
    return series


def python_series(data):
    """{method: [(block_seed, ns)]} from bench/python/bench_block_entry.py's JSON."""
    series = {}
    for row in (data or {}).get("results", []):
        series.setdefault("python " + row["impl"], []).append((float(row["block_seed"]), row["median_us"] * 1e3))
    return series


def plot_entry(series, out):
    fig, ax = plt.subplots(figsize=(8, 5))
    for method, points in sorted(series.items()):
        points = sorted(points)
        xs = [max(x, 0.5) for x, _ in points]  # block seed 0 drawn at 0.5 on the log axis
        ax.plot(xs, [y for _, y in points], marker="o", label=method)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("block seed (0 drawn at 0.5)")
    ax.set_ylabel("enter + exit, ns")
    ax.set_title("Entering a block: rb derives the state in O(1); replay is linear in the seed")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def throughput_rows(bench):
    """[(name, GB/s)] of the Fill/* rows."""
    rows = []
    for row in bench.get("benchmarks", []):
        if row["name"].startswith("Fill/") and "bytes_per_second" in row and row.get("run_type") != "aggregate":
            name = row["name"][5:].replace("/real_time", "")
            if "threads" in row:
                name = name.rsplit("/", 1)[0] + f" ({int(row['threads'])} thr)"
            rows.append((name, row["bytes_per_second"] / 1e9))
    return rows


def plot_throughput(rows, out, title):
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(10, max(3, 0.3 * len(rows))))
    names = [n for n, _ in rows]
    colors = ["tab:blue" if "rb" in n.split(" ")[0].split("/") or n.startswith("gpu") and " rb" in n
              else "tab:gray" for n in names]
    ax.barh(names, [v for _, v in rows], color=colors)
    ax.set_xlabel("GB/s written (10^9 bytes; blue: rb, gray: peers)")
    ax.set_title(title)
    ax.invert_yaxis()
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def print_ratios(bench, path):
    """Prints the ratios of the README's results table from one rb_bench JSON file."""
    rows = {r["run_name"]: r for r in bench.get("benchmarks", []) if r.get("aggregate_name") == "median"}
    if not rows:  # a run without repetitions
        rows = {r["name"]: r for r in bench.get("benchmarks", []) if r.get("run_type") != "aggregate"}
    context = bench.get("context", {})
    print(f"{path.name}: rb_cpu_isa={context.get('rb_cpu_isa', '?')}, {context.get('cpu_model', '?')}")

    def ratio(name, peer, key, what):
        if name in rows and peer in rows:
            print(f"  {name.replace('/real_time', ''):48s} {rows[name][key] / rows[peer][key]:6.2f}x {what}")

    for name in rows:
        if name.startswith("Fill/") and "/rb/1/" in name:  # GB/s, one thread
            ratio(name, name.replace("/rb/", "/torch/"), "bytes_per_second", "torch's GB/s")
        if name.startswith("Fill/raw_bits") and name.endswith("rb_philox_vectorized"):
            ratio(name, name.replace("rb_philox_vectorized", "random123_scalar"), "bytes_per_second",
                  "Random123's GB/s")
        if name.startswith("EnterExit/rb_"):  # time against torch::manual_seed at the same block seed
            peer = "EnterExit/torch_manual_seed/" + name.rsplit("/", 1)[1]
            ratio(name, peer, "cpu_time", "torch::manual_seed's time")
        if name.startswith("Engine/") and name.endswith("/1"):  # torch-engine block time / philox block time
            faster = rows[name]["cpu_time"] / rows[name[:-1] + "2"]["cpu_time"] if name[:-1] + "2" in rows else None
            if faster:
                print(f"  {name[:-2]:48s} {faster:6.2f}x faster in a philox block")


def main():
    results = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
    cpu = load(results / "rb_bench.json")
    gpu = load(results / "gpu_bench.json")
    python = load(results / "python_block_entry.json")
    series = {}
    if cpu:
        series.update(entry_series(cpu))
    series.update(python_series(python))
    if series:
        plot_entry(series, results / "entry_cost.png")
        print(f"wrote {results / 'entry_cost.png'}")
        for method, points in sorted(series.items()):
            ys = [y for _, y in points]
            print(f"  {method:40s} min {min(ys):12.0f} ns  max {max(ys):14.0f} ns  max/min {max(ys) / min(ys):10.2f}")
    for path in sorted(results.glob("rb_bench*.json")):
        print_ratios(load(path), path)
    rows = throughput_rows(cpu) if cpu else []
    if gpu:
        rows += [("gpu " + r["name"], r["gb_per_s"]) for r in gpu.get("rows", [])]
    plot_throughput(rows, results / "throughput.png", "Fill throughput (GB/s written)")
    if rows:
        print(f"wrote {results / 'throughput.png'}")


if __name__ == "__main__":
    main()
