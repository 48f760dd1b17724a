"""Paths (a block seed from ints and strs) from Python: the golden table tests/golden/path.txt that
C++ prints (golden_path), checked against rblock and against a Python transcription of Note [Ranks
and paths]; what rblock.block accepts; and bad parts."""

import pathlib

import numpy as np
import pytest
import torch

import rblock
from conftest import draws

# Tests here enter one block from two lines on purpose, to compare what it draws there.
pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")

C = rblock._C
GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "path.txt"
MASK = 0xFFFFFFFF

# ---- Note [Ranks and paths], transcribed: Philox4x32-10 (Salmon et al., SC'11; Random123's
# multipliers PHILOX_M4x32_0/1 and Weyl increments PHILOX_W32_0/1) and the folds built on it.


def philox(counter, key):
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK
        k0, k1 = (k0 + 0x9E3779B9) & MASK, (k1 + 0xBB67AE85) & MASK
    return c0, c1, c2, c3


def fold(key, x, tag, part_type):
    out = philox((x & MASK, x >> 32, tag, part_type), (key & MASK, key >> 32))
    return out[0] | out[1] << 32


def string_hash(data):
    h = fold(0, len(data), 0xFFFFFFFD, 0)
    for i in range(0, len(data), 8):
        h = fold(h, int.from_bytes(data[i:i + 8].ljust(8, b"\0"), "little"), 0xFFFFFFFD, 1)
    return h


def reference_path(*parts):
    v = 0
    for p in parts:
        if isinstance(p, str):
            v = fold(v, string_hash(p.encode()), 0xFFFFFFFE, 1)
        else:
            v = fold(v, p, 0xFFFFFFFE, 0)
    return v


def reference_rank_key(key, rank):
    return fold(key, rank, 0xFFFFFFFC, 0)


def golden(kind):
    """The lines of `kind` in the golden table, as (fields before '=', value)."""
    out = []
    for line in GOLDEN.read_text().splitlines():
        left, value = line.split(" = ")
        fields = left.split(" ")
        if fields[0] == kind:
            out.append((fields[1:], int(value, 16)))
    assert out, kind
    return out


def parse_part(text):
    kind, value = text.split(":", 1)
    return int(value) if kind == "i" else bytes.fromhex(value).decode("utf-8")


def test_reference_philox_is_rbs():
    for initial, block in [(0, 0), (42, 64), (2**64 - 1, 2**64 - 1)]:
        assert fold(initial, block, 0xFFFFFFFF, 0) == C.derive_key(initial, block)


def test_golden_paths_in_python():
    for fields, value in golden("path"):
        parts = [parse_part(f) for f in fields]
        assert rblock.path(*parts) == value, parts
        assert reference_path(*parts) == value, parts
        assert rblock.block(tuple(parts)).block_seed == value


def test_golden_string_hashes_and_rank_keys():
    for (data,), value in golden("string_hash"):
        assert string_hash(b"" if data == "-" else bytes.fromhex(data)) == value
    for (key, rank), value in golden("rank_key"):
        assert reference_rank_key(int(key, 16), int(rank)) == value
        assert C.rank_key(int(key, 16), int(rank)) == value


def test_what_a_block_seed_can_be(seeded):
    assert rblock.block(5).block_seed == 5  # an int keeps its bits: not a path
    assert rblock.block((5,)).block_seed == rblock.path(5) != 5
    assert rblock.block("encoder").block_seed == rblock.path("encoder")
    assert rblock.block(("augment", 3, 17)).block_seed == rblock.path("augment", 3, 17)
    assert rblock.path(1) != rblock.path("1")
    assert rblock.path(np.int64(3), "x") == rblock.path(3, "x")
    assert rblock.block("encoder").path == "encoder" and rblock.block(5).path is None
    assert repr(rblock.block(("a", 1))) == "rblock.block(('a', 1), restore=False, engine='torch')"


def test_a_path_block_draws_what_its_seed_draws(seeded):
    with rblock.block(("augment", 1, 2)):
        by_path = draws()
    with rblock.block(rblock.path("augment", 1, 2)):
        assert draws() == by_path
    with rblock.block(("augment", 1, 3)):
        assert draws() != by_path


@pytest.mark.parametrize("bad, what", [
    ((1.0,), "float"), (("a", None), "None"), (("a", [1]), r"\[1\]"),
    (("a", ("b", 1)), r"\('b', 1\)"), (("a", True), "bool"), ((b"a",), "b'a'"),
    (("a", np.float64(2.5)), "2.5")])
def test_unsupported_part_types(seeded, bad, what):
    index = len(bad) - 1
    for make in (lambda: rblock.block(bad), lambda: rblock.path(*bad)):
        with pytest.raises(rblock.ArgumentTypeError, match=rf"part {index} of the path .*{what}"):
            make()


@pytest.mark.parametrize("bad", [-1, 2**64, -(2**70)])
def test_integer_parts_out_of_range(seeded, bad):
    for make in (lambda: rblock.block(("augment", bad)), lambda: rblock.path("augment", bad)):
        with pytest.raises(rblock.ArgumentError, match=r"part 1 of .*out of range.*2\*\*64"):
            make()


def test_empty_paths_and_other_containers(seeded):
    with pytest.raises(rblock.ArgumentError, match="at least one part"):
        rblock.block(())
    with pytest.raises(rblock.ArgumentError, match="at least one part"):
        rblock.path()
    with pytest.raises(rblock.ArgumentTypeError, match="a str or a tuple of ints and strs"):
        rblock.block(["augment", 1])  # a tuple, not a list
    with pytest.raises(rblock.ArgumentError, match="not valid UTF-8"):
        rblock.path("\ud800")  # a lone surrogate has no UTF-8 bytes


def test_bad_paths_change_nothing(seeded):
    from conftest import state
    before = state()
    for bad in [(1.0,), ("a", -1), (), ("\ud800",)]:
        with pytest.raises(rblock.Error):
            rblock.block(bad)
    assert state() == before and C.block_depth() == 0
