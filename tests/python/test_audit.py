"""Reused blocks from Python (Note [Block reuse]): two places warn once per pair and name both,
"error" refuses before anything changes, the same place never warns; and the trace that Python
blocks write (Note [Trace format]): paths, sites, random's and NumPy's fingerprints, RB_TRACE."""

import json
import random
import warnings

import numpy as np
import pytest
import torch

import rblock
from conftest import run_fresh, state
from reproducible_block import Reproducible_Block


@pytest.fixture
def reuses():
    """The ReuseWarnings issued in the test, under the default policy, seeded."""
    rblock.set_reuse_policy("warn")
    rblock.set_seed(42)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    rblock.set_reuse_policy("warn")
    assert rblock._C.block_depth() == 0


def messages(caught):
    return [str(w.message) for w in caught if issubclass(w.category, rblock.ReuseWarning)]


def line_of(marker):
    """The line of this file that holds `marker` (in a comment)."""
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if marker in line and "line_of" not in line)


def test_two_places_warn_once_naming_both(reuses):
    for _ in range(3):
        with rblock.block(("reused", 1)):  # first place
            pass
    for _ in range(3):
        with rblock.block(("reused", 1)):  # second place
            pass
    [message] = messages(reuses)
    assert f"test_audit.py:{line_of('# first place')}" in message
    assert f"test_audit.py:{line_of('# second place')}" in message
    assert 'rblock.set_reuse_policy("allow")' in message


def test_the_same_place_never_warns(reuses):
    @rblock.block(900)
    def epoch():
        torch.rand(1)

    for _ in range(5):
        epoch()  # a decorated function is one place, wherever it is called from
    epoch()
    for seed in range(100):
        with rblock.block(seed + 1000):
            pass
    with Reproducible_Block(block_seed=901):
        pass
    assert messages(reuses) == []


def test_reproducible_block_names_the_callers_place(reuses):
    with Reproducible_Block(block_seed=902):  # legacy first
        pass
    with rblock.block(902):  # legacy second
        pass
    [message] = messages(reuses)
    assert f"test_audit.py:{line_of('# legacy first')}" in message
    assert f"test_audit.py:{line_of('# legacy second')}" in message


def test_error_refuses_before_anything_changes(reuses):
    with rblock.block(903, restore=True):
        random.random()
    rblock.set_reuse_policy("error")
    assert rblock.reuse_policy() == "error"
    before = state()
    with pytest.raises(rblock.Error, match="entered at .*test_audit.py"):
        with rblock.block(903):
            pytest.fail("entered a reused block")
    assert rblock._C.block_depth() == 0
    assert state() == before


def test_a_warning_turned_error_refuses_the_entry(reuses):
    with rblock.block(904):
        pass
    before = state()
    warnings.simplefilter("error", rblock.ReuseWarning)
    with pytest.raises(rblock.ReuseWarning):
        with rblock.block(904):
            pytest.fail("entered")
    assert rblock._C.block_depth() == 0
    assert state() == before


def test_allow_and_bad_policies(reuses):
    rblock.set_reuse_policy("allow")
    with rblock.block(905):
        pass
    with rblock.block(905):
        pass
    assert messages(reuses) == []
    with pytest.raises(rblock.ArgumentError, match="allow"):
        rblock.set_reuse_policy("loud")
    with pytest.raises(rblock.ArgumentTypeError):
        rblock.set_reuse_policy(2)
    assert rblock.reuse_policy() == "allow"


def read_trace(path):
    with open(path) as f:
        lines = [json.loads(line) for line in f]
    return lines[0], lines[1:]


def test_trace_lines_of_python_blocks(seeded, tmp_path):
    rblock.set_reuse_policy("allow")
    try:
        with rblock.trace(tmp_path / "t.jsonl") as t:
            assert rblock.tracing() and t.path.endswith("t.jsonl")
            for extra in (False, False, True):
                with rblock.block(("aug", 3, "x")):  # traced place
                    torch.rand(2)
                    if extra:
                        random.random()
            with rblock.block(7, restore=True):
                np.random.random_sample()
        assert not rblock.tracing()
    finally:
        rblock.set_reuse_policy("warn")
    environment, blocks = read_trace(tmp_path / "t.jsonl")
    assert environment["rb_trace"] == 1 and environment["numpy"] == np.__version__
    assert environment["python"] and environment["initial_seed"] == 42
    assert len(blocks) == 4
    first, second, third, restoring = blocks
    assert first["path"] == ["aug", 3, "x"] and first["block"] == rblock.path("aug", 3, "x")
    assert first["site"].endswith(f"test_audit.py:{line_of('# traced place')}")
    assert first == second
    assert third["random"] != second["random"]  # the extra draw, and only it
    assert {k: v for k, v in third.items() if k != "random"} == \
        {k: v for k, v in second.items() if k != "random"}
    assert restoring["path"] is None and restoring["on_exit"] == "restore"


def test_trace_errors(seeded, tmp_path):
    with pytest.raises(rblock.Error, match="cannot create"):
        rblock.trace(tmp_path / "missing" / "t.jsonl")
    with rblock.trace(tmp_path / "t.jsonl"):
        with pytest.raises(rblock.Error, match="already being written"):
            rblock.trace(tmp_path / "u.jsonl")
    rblock.stop_trace()  # none: nothing happens


def test_rb_trace_starts_at_set_seed(tmp_path):
    path = tmp_path / "env.jsonl"
    run_fresh(
        """
        import rblock, torch
        assert not rblock.tracing()
        rblock.set_seed(5)
        assert rblock.tracing()
        with rblock.block("model"):
            torch.rand(1)
        """,
        RB_TRACE=str(path), PYTHONHASHSEED="3")
    environment, blocks = read_trace(path)
    assert environment["PYTHONHASHSEED"] == "3" and environment["initial_seed"] == 5
    assert [b["path"] for b in blocks] == [["model"]]
    assert blocks[0]["site"] == "<string>:6"  # the code starts with an empty line


def test_rb_trace_in_a_distributed_job(tmp_path):
    """RB_TRACE without {rank} in a job of several processes is refused at set_seed, which changes
    nothing; with {rank}, each rank writes its own file."""
    out = run_fresh(
        """
        import rblock
        try:
            rblock.set_seed(5)
        except rblock.Error as e:
            print(e)
        assert not rblock.tracing()
        """,
        RB_TRACE=str(tmp_path / "all.jsonl"), RANK="1", WORLD_SIZE="2")
    assert "{rank}" in out and not (tmp_path / "all.jsonl").exists()
    run_fresh("import rblock; rblock.set_seed(5)",
              RB_TRACE=str(tmp_path / "run.{rank}.jsonl"), RANK="1", WORLD_SIZE="2")
    environment, blocks = read_trace(tmp_path / "run.1.jsonl")
    assert environment["initial_seed"] == 5 and blocks == []
