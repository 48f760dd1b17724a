"""rblock.state_dict / load_state_dict: a run resumed in a new process continues bit for bit (both
engines, a DataLoader with workers, a save between two batches), and a state that does not fit is
refused with nothing changed."""

import pathlib
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import rblock
import resume_job
from conftest import state

# Tests here enter one block from two lines on purpose, to compare what it draws there.
pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")

HERE = pathlib.Path(__file__).resolve().parent


@pytest.mark.parametrize("engine", ["torch", "philox"])
@pytest.mark.parametrize("stop_after", [1, 2])
def test_resumed_run_is_bit_identical(tmp_path, engine, stop_after):
    expected_parameters, expected_losses = resume_job.run(engine)
    checkpoint, out = tmp_path / "ckpt.pt", tmp_path / "out.pt"
    job = [sys.executable, str(HERE / "resume_job.py"), engine]
    subprocess.run(job + ["first", str(stop_after), str(checkpoint)], check=True, timeout=300)
    subprocess.run(job + ["resume", str(checkpoint), str(out)], check=True, timeout=300)
    parameters, losses = torch.load(out, weights_only=True)
    assert losses == expected_losses
    for a, b in zip(parameters, expected_parameters):
        assert torch.equal(a, b)


def test_the_state_dict_is_plain_data(seeded, tmp_path):
    with rblock.block(3, restore=True):
        torch.save(rblock.state_dict(), tmp_path / "s.pt")
        loaded = torch.load(tmp_path / "s.pt", weights_only=True)
        assert loaded.keys() == {"format", "rb", "random", "numpy", "restoring_blocks"}
        assert loaded["rb"].dtype == torch.uint8 and len(loaded["restoring_blocks"]) == 1
        rblock.load_state_dict(loaded)


def test_a_restoring_block_puts_back_what_the_loaded_state_says(seeded):
    random.random(), np.random.rand(), torch.rand(3)
    before = state()
    with rblock.block(4, restore=True):
        saved = rblock.state_dict()
    random.random(), np.random.rand(), torch.rand(3)
    after = state()
    with rblock.block(4, restore=True):
        rblock.load_state_dict(saved)
    assert state() == before != after  # the block restored the entry states of the saved run


# ---- refusals: each says what differs, and nothing changes ------------------------------------


def refused(saved, error, words):
    before = state()
    with pytest.raises(error, match=words):
        rblock.load_state_dict(saved)
    assert state() == before


def test_another_seed_other_blocks_another_rank(seeded):
    with rblock.block(5):
        saved = rblock.state_dict()
    refused(saved, rblock.Error, "enter the same blocks")
    with rblock.block(6):
        refused(saved, rblock.Error, "block 5")
    with rblock.block(5, engine="philox"):
        refused(saved, rblock.Error, "engine torch")
    rblock.set_seed(43)
    with rblock.block(5):
        refused(saved, rblock.Error, r"rblock.set_seed\(42\)")


def test_another_rank(seeded):
    rblock.set_rank(0, 2)
    saved = rblock.state_dict()
    try:
        rblock.set_rank(1, 2)
        refused(saved, rblock.Error, "saved on rank 0 of 2, this process is rank 1 of 2")
    finally:
        rblock.set_rank(0, 1)  # set_rank is process-wide: leave what the other tests assume


def test_damaged_or_foreign_states(seeded):
    saved = rblock.state_dict()
    cut = dict(saved, rb=saved["rb"][:-1].clone())
    refused(cut, rblock.Error, "corrupted")
    flipped = dict(saved, rb=saved["rb"].clone())
    flipped["rb"][20] ^= 1
    refused(flipped, rblock.Error, "corrupted")
    version = dict(saved, rb=saved["rb"].clone())
    version["rb"][8] += 1  # rb::kStreamVersion, then the checksum made right again
    checksum = 14695981039346656037
    for byte in version["rb"][:-8].tolist():
        checksum = ((checksum ^ byte) * 1099511628211) % 2**64
    version["rb"][-8:] = torch.tensor(list(checksum.to_bytes(8, "little")), dtype=torch.uint8)
    refused(version, rblock.Error, "stream version")


def test_wrong_shapes_and_types(seeded):
    saved = rblock.state_dict()
    refused({k: v for k, v in saved.items() if k != "numpy"}, rblock.ArgumentError, "keys")
    refused(dict(saved, rb=saved["rb"].float()), rblock.ArgumentTypeError, "uint8")
    refused(dict(saved, format=2), rblock.ArgumentError, "format")
    refused(dict(saved, random=dict(saved["random"], state=saved["random"]["state"][:-1])),
            rblock.ArgumentError, "625")
    refused(dict(saved, numpy=dict(saved["numpy"], pos=1000)), rblock.ArgumentError, "out of range")
    refused(dict(saved, restoring_blocks=[{"random": None, "numpy": None}]), rblock.ArgumentError,
            "restoring blocks")
    refused([1, 2], rblock.ArgumentTypeError, "dict")


def test_before_set_seed_says_what_to_do(tmp_path):
    code = ("import rblock, torch\nrblock.set_seed(1)\ns = rblock.state_dict()\n"
            "torch.save(s, r'%s')\n" % (tmp_path / "s.pt"))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    code = ("import rblock, torch\ns = torch.load(r'%s', weights_only=True)\n"
            "try:\n    rblock.load_state_dict(s)\nexcept rblock.Error as e:\n    print(e)\n" % (tmp_path / "s.pt"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    assert "set_seed" in out
