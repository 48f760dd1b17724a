"""python -m rblock.diff: two runs of the toy model, one with an extra draw in block 44, diverge at
block 44 and its place; identical runs give exit 0; unreadable traces give exit 2 and say why."""

import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys

import pytest

import rblock.diff

HERE = pathlib.Path(__file__).resolve().parent
JOB = HERE / "trace_job.py"


def run_job(trace, *args, **environment):
    env = dict(os.environ, **environment)
    env.pop("RB_TRACE", None)
    subprocess.run([sys.executable, str(JOB), str(trace), *args], check=True, timeout=300, env=env)
    return trace


def diff(*args):
    """(exit status, stdout, stderr) of rblock.diff's main, run in this process (a new
    interpreter costs seconds of importing torch; test_command_line runs the real command)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = rblock.diff.main([str(a) for a in args])
    return status, out.getvalue(), err.getvalue()


def test_command_line(runs):
    a, b, extra = runs
    for args, status in [((a, b), 0), ((a, extra), 1), ((a, a.with_name("missing")), 2)]:
        result = subprocess.run([sys.executable, "-m", "rblock.diff", *map(str, args)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == status, result.stdout + result.stderr
        assert (result.returncode, result.stdout, result.stderr) == diff(*args)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three traces of the toy model: two identical runs, one with an extra draw in block 44
    (and another PYTHONHASHSEED)."""
    d = tmp_path_factory.mktemp("runs")
    return (run_job(d / "a.jsonl", PYTHONHASHSEED="0"), run_job(d / "b.jsonl", PYTHONHASHSEED="0"),
            run_job(d / "extra.jsonl", "extra", PYTHONHASHSEED="1"))


def block_44_line():
    return next(i for i, line in enumerate(JOB.read_text().splitlines(), 1)
                if "rblock.block(44)" in line)


def test_an_extra_draw_in_block_44_is_named(runs):
    a, _, extra = runs
    status, out, err = diff(a, extra)
    assert status == 1, out + err
    first = out.splitlines()[0]
    assert "block 44" in first and f"trace_job.py:{block_44_line()}" in first, out
    assert "torch CPU state differs at exit" in out
    assert 'PYTHONHASHSEED: "0" in a, "1" in b' in out


def test_identical_runs(runs):
    a, b, _ = runs
    status, out, err = diff(a, b)
    assert status == 0, out + err
    assert "the same draws: 4 block exits" in out
    assert "environment" not in out


def test_blocks_entered_in_one_run_only(runs, tmp_path):
    a, _, _ = runs
    lines = pathlib.Path(a).read_text().splitlines(keepends=True)
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text(lines[0] + "".join(lines[1:2] + lines[3:]))  # block 44 never exited
    status, out, _ = diff(a, fewer)
    assert status == 1 and "entered only in a" in out and "block 44" in out.splitlines()[0]
    status, out, _ = diff(fewer, a)
    assert status == 1 and "entered only in b" in out and "block 44" in out.splitlines()[0]


def test_rb_stream_draws_are_counted(tmp_path):
    env = {"rb_trace": 1}
    line = {"block": 3, "path": None, "key": "00", "site": "x.py:1", "depth": 1, "proc": "main",
            "thread": 0, "worker": None, "drawn": 5, "torch_cpu": "00", "cuda": [[1, 4]]}
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps(env) + "\n" + json.dumps(line) + "\n")
    b.write_text(json.dumps(env) + "\n" + json.dumps(dict(line, drawn=7, cuda=[[1, 8]])) + "\n")
    status, out, _ = diff(a, b)
    assert status == 1
    assert "b drew 2 more rb stream outputs (5 in a, 7 in b)" in out
    assert "CUDA device 0 state differs at exit (seed, offset): (1, 4) in a, (1, 8) in b" in out


def test_a_cut_line_is_reported(runs, tmp_path):
    a, _, _ = runs
    text = pathlib.Path(a).read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 40])  # inside the last line
    status, out, err = diff(a, cut)
    assert status == 2 and out == ""
    assert "cut.jsonl:5: the last line is cut" in err and "--ignore-cut-line" in err
    status, out, err = diff(a, cut, "--ignore-cut-line")
    assert status == 1 and "entered only in a" in out and "compared the lines before it" in err


@pytest.mark.parametrize("content, why", [
    ("", "empty, not an rb trace"),
    ('{"hello": 1}\n', "not an rb trace"),
    ('{"rb_trace": 2}\n', "format version 2; this rblock reads version 1"),
    ('{"rb_trace": 1}\n{"block": 1,\n{"block": 2}\n', "bad.jsonl:2: not a JSON line"),
    ('{"rb_trace": 1}\n[1, 2]\n', "bad.jsonl:2: not a block line"),
])
def test_unreadable_traces(runs, tmp_path, content, why):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    status, out, err = diff(runs[0], bad)
    assert status == 2 and why in err, err
    status, _, err = diff(tmp_path / "missing.jsonl", runs[0])
    assert status == 2 and "missing.jsonl: cannot read it" in err
