"""``python -m rblock.diff a.jsonl b.jsonl``: the first block that drew differently in two traces
of rb (``rblock.trace``, ``RB_TRACE``), its call site and what differs, then the environment
lines that differ. Exit status: 0 when every block drew the same, 1 when the runs diverged, 2 when
a trace cannot be read."""

import argparse
import json
import sys

FORMAT_VERSION = 1  # the "rb_trace" of the first line that this module reads (Note [Trace format])

# A block line's members that name the block (two runs are aligned on them) and those compared.
_IDENTITY = ("block", "path", "depth", "worker")
_STATES = ("torch_cpu", "cuda", "random", "numpy")


class TraceError(Exception):
    """A file that is not a complete rb trace of this format version (exit status 2)."""


def read_trace(path, ignore_cut_line=False):
    """(environment, blocks) of the trace at `path`: the first line's members, and each block line
    with "_line" (its line number) added. Raises TraceError saying what is wrong."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise TraceError(f"{path}: cannot read it ({e.strerror})") from None
    if not data:
        raise TraceError(f"{path}: empty, not an rb trace")
    lines = data.split(b"\n")
    cut = None  # the number of a last line without its newline: the run stopped while writing it
    if lines[-1] == b"":
        lines.pop()
    else:
        cut = len(lines)
        if cut == 1 or not ignore_cut_line:
            raise TraceError(
                f"{path}:{cut}: the last line is cut (the run stopped while writing it)"
                + ("" if cut == 1 else "; pass --ignore-cut-line to compare the lines before it")
            )
        print(f"rblock.diff: {path}:{cut}: the last line is cut; compared the lines before it",
              file=sys.stderr)
        lines.pop()
    environment = _parse(path, 1, lines[0])
    if not isinstance(environment, dict) or "rb_trace" not in environment:
        raise TraceError(f"{path}: not an rb trace (its first line is not rb's environment line)")
    if environment["rb_trace"] != FORMAT_VERSION:
        raise TraceError(
            f"{path}: an rb trace of format version {environment['rb_trace']!r}; this rblock reads "
            f"version {FORMAT_VERSION}: compare it with the rblock that wrote it"
        )
    blocks = []
    for number, raw in enumerate(lines[1:], start=2):
        record = _parse(path, number, raw)
        if not isinstance(record, dict) or "block" not in record or "thread" not in record:
            raise TraceError(f"{path}:{number}: not a block line of an rb trace")
        record["_line"] = number
        blocks.append(record)
    return environment, blocks


def _parse(path, number, raw):
    try:
        return json.loads(raw)
    except ValueError as e:  # also bytes that are not UTF-8
        raise TraceError(f"{path}:{number}: not a JSON line ({e})") from None


def _streams(blocks):
    """The block lines of each (process, thread), in their order."""
    streams = {}
    for record in blocks:
        streams.setdefault((record.get("proc", "main"), record["thread"]), []).append(record)
    return streams


def _identity(record):
    return tuple(json.dumps(record.get(name)) for name in _IDENTITY)


def _differences(a, b):
    """What differs between two lines of the same block, in words."""
    out = []
    if a.get("key") != b.get("key"):
        out.append("its key differs (another initial seed, or another rank for a per-rank block)")
    for name in ("engine", "on_exit", "rank"):
        if a.get(name) != b.get(name):
            out.append(f"{name} is {a.get(name)!r} in a, {b.get(name)!r} in b")
    drawn_a, drawn_b = a.get("drawn", 0), b.get("drawn", 0)
    if drawn_a != drawn_b:
        more, who = (drawn_b - drawn_a, "b") if drawn_b > drawn_a else (drawn_a - drawn_b, "a")
        out.append(f"{who} drew {more} more rb stream output{'s' if more != 1 else ''} "
                   f"({drawn_a} in a, {drawn_b} in b)")
    if a.get("torch_cpu") != b.get("torch_cpu"):
        out.append("torch CPU state differs at exit")
    cuda_a, cuda_b = a.get("cuda") or [], b.get("cuda") or []
    if len(cuda_a) != len(cuda_b):
        out.append(f"{len(cuda_a)} CUDA devices in a, {len(cuda_b)} in b")
    for device, (da, db) in enumerate(zip(cuda_a, cuda_b)):
        if da != db:
            out.append(f"CUDA device {device} state differs at exit (seed, offset): "
                       f"{tuple(da)} in a, {tuple(db)} in b")
    for name, words in (("random", "random's"), ("numpy", "NumPy's")):
        if a.get(name) != b.get(name):
            out.append(f"{words} state differs at exit")
    return out


def _first_divergence(a, b):
    """(line of a or None, line of b or None, what differs) for the first difference of two
    streams, or None when they are the same."""
    for i, (ra, rb) in enumerate(zip(a, b)):
        if _identity(ra) == _identity(rb):
            what = _differences(ra, rb)
            if what:
                return ra, rb, what
            continue
        # Another block: which run entered a block the other did not?
        later_in_b = [_identity(r) for r in b[i + 1:]]
        later_in_a = [_identity(r) for r in a[i + 1:]]
        if _identity(ra) in later_in_b:
            return None, rb, ["entered only in b"]
        if _identity(rb) in later_in_a:
            return ra, None, ["entered only in a"]
        return ra, rb, ["a and b left different blocks here"]
    if len(a) > len(b):
        return a[len(b)], None, ["entered only in a (b has no more blocks on this thread)"]
    if len(b) > len(a):
        return None, b[len(a)], ["entered only in b (a has no more blocks on this thread)"]
    return None


def _describe(record):
    label = f"block {record['block']}"
    if record.get("path") is not None:
        label += " (path " + ", ".join(json.dumps(p) for p in record["path"]) + ")"
    site = record.get("site") or "an unknown place"
    return f"{label}, entered at {site}, depth {record.get('depth')}"


def compare(path_a, path_b, ignore_cut_line=False, out=None):
    """Compares two traces, writes the report to `out` (sys.stdout as it is when called, by
    default) and returns the exit status (0 or 1); raises TraceError when one cannot be read."""
    out = sys.stdout if out is None else out
    env_a, blocks_a = read_trace(path_a, ignore_cut_line)
    env_b, blocks_b = read_trace(path_b, ignore_cut_line)
    streams_a, streams_b = _streams(blocks_a), _streams(blocks_b)
    found = []
    for stream in sorted(set(streams_a) | set(streams_b), key=str):
        d = _first_divergence(streams_a.get(stream, []), streams_b.get(stream, []))
        if d is not None:
            found.append((stream, d))
    status = 0
    if found:
        status = 1
        # The first in a's order (else in b's): the block that drew differently first.
        (proc, thread), (ra, rb, what) = min(
            found, key=lambda f: (0, f[1][0]["_line"]) if f[1][0] else (1, f[1][1]["_line"]))
        record = ra or rb
        where = ", ".join(f"line {r['_line']} of {p}" for r, p in ((ra, path_a), (rb, path_b)) if r)
        print(f"first divergence: {_describe(record)}", file=out)
        if ra and rb and ra.get("site") != rb.get("site"):
            print(f"  (entered at {rb.get('site')} in b)", file=out)
        print(f"  {where}; process {proc}, thread {thread}", file=out)
        for line in what:
            print(f"  - {line}", file=out)
        if len(found) > 1:
            print(f"  ({len(found)} threads diverged in all)", file=out)
    else:
        print(f"the same draws: {len(blocks_a)} block exits, identical in {path_a} and {path_b}",
              file=out)
    differing = [name for name in sorted(set(env_a) | set(env_b))
                 if env_a.get(name) != env_b.get(name)]
    if differing:
        print("environment lines that differ:", file=out)
        for name in differing:
            a, b = json.dumps(env_a.get(name)), json.dumps(env_b.get(name))
            print(f"  {name}: {a} in a, {b} in b", file=out)
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m rblock.diff",
        description="Names the first block that drew differently in two rb traces (rblock.trace, "
                    "RB_TRACE), then the environment lines that differ. Exit status: 0 the same "
                    "draws, 1 diverged, 2 a trace cannot be read.")
    parser.add_argument("a", help="the first trace (a .jsonl file)")
    parser.add_argument("b", help="the second trace")
    parser.add_argument("--ignore-cut-line", action="store_true",
                        help="compare the complete lines of a trace whose last line is cut")
    args = parser.parse_args(argv)
    try:
        return compare(args.a, args.b, args.ignore_cut_line)
    except TraceError as e:
        print(f"rblock.diff: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
