"""Shared helpers of rb's Python tests: the two APIs under test, draws and exact states of every
covered generator."""

import os
import random
import subprocess
import sys
import textwrap

# Inductor's caches live in the build folder (CI starts from a clean clone), set before torch
# reads them.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build-python", "inductor-cache"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rblock  # noqa: E402
from reproducible_block import Reproducible_Block  # noqa: E402

SEED = 42
HAS_CUDA = torch.cuda.is_available()
# Without a GPU, Triton kernels (tests/python/test_triton.py) run in Triton's interpreter, on CPU
# tensors; it must be chosen before Triton is imported (torch.compile imports it).
if not HAS_CUDA:
    os.environ.setdefault("TRITON_INTERPRET", "1")
# Each generator a block covers, by name; CUDA only where a GPU is present.
GENERATORS = ["random", "numpy", "torch_cpu", "torch_cuda"]


class RblockAPI:
    """rblock, the Pythonic module."""

    name = "rblock"
    set_seed = staticmethod(rblock.set_seed)
    reset_to_reference_state = staticmethod(rblock.reset_to_reference_state)

    @staticmethod
    def block(block_seed, restore=False):
        return rblock.block(block_seed, restore=restore)


class ReproducibleBlockAPI:
    """reproducible_block, the drop-in module, spelled as the original package's README does."""

    name = "reproducible_block"
    set_seed = staticmethod(Reproducible_Block.set_seed)
    reset_to_reference_state = staticmethod(Reproducible_Block.reset_to_reference_state)

    @staticmethod
    def block(block_seed, restore=False):
        return Reproducible_Block(block_seed=block_seed, reset_state_after=restore)


@pytest.fixture(params=[RblockAPI, ReproducibleBlockAPI], ids=lambda api: api.name)
def api(request):
    """Each API, seeded with SEED; no block may be left open by a test."""
    request.param.set_seed(SEED)
    yield request.param
    assert rblock._C.block_depth() == 0, "the test left a block open"


@pytest.fixture
def seeded():
    rblock.set_seed(SEED)
    yield
    assert rblock._C.block_depth() == 0, "the test left a block open"


@pytest.fixture(params=["direct", "setstate"])
def writes(request):
    """Each way rb installs Python's generators (Note [Direct writes] in python/
    python_generators.cpp): direct writes into their C structs, or random.setstate and
    np.random.set_state. Both must give the same states."""
    rblock._C._use_direct_writes(request.param == "direct")
    yield request.param
    rblock._C._use_direct_writes(True)


def run_fresh(code, **environment):
    """Runs `code` in a fresh interpreter (rb cannot be unseeded, nor its rank forgotten, in this
    one), with `environment` added to the environment (None: removed), and returns its output."""
    env = dict(os.environ, **{k: v for k, v in environment.items() if v is not None})
    for k, v in environment.items():
        if v is None:
            env.pop(k, None)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def require(generator):
    if generator == "torch_cuda" and not HAS_CUDA:
        pytest.skip("no CUDA device: the CUDA generator checks need a GPU (torch.cuda.is_available() is False)")


def draw(generator, n=8):
    """`n` draws from one covered generator, as a tuple of Python numbers."""
    if generator == "random":
        return tuple(random.random() for _ in range(n))
    if generator == "numpy":
        return tuple(np.random.random_sample(n).tolist())
    if generator == "torch_cpu":
        return tuple(torch.rand(n).tolist())
    if generator == "torch_cuda":
        return tuple(torch.rand(n, device="cuda").tolist())
    raise ValueError(generator)


def draws(n=8):
    """`n` draws from every covered generator present."""
    return {g: draw(g, n) for g in GENERATORS if g != "torch_cuda" or HAS_CUDA}


def dirty():
    """Draws that leave every generator mid-stream with cached normal samples, so that an exact
    restore has everything to put back: random's gauss_next, NumPy's cached gaussian, torch CPU's
    cached float and double normals, a non-zero CUDA offset."""
    random.random()
    random.gauss(0.0, 1.0)
    np.random.standard_normal()
    torch.rand(5)
    torch.randn(1)
    torch.randn(1, dtype=torch.float64)
    if HAS_CUDA:
        torch.rand(5, device="cuda")


def state():
    """The exact state of every covered generator, comparable with ==."""
    kind, words, pos, has_gauss, cached = np.random.get_state()
    out = {
        "random": random.getstate(),
        "numpy": (kind, words.tobytes(), pos, has_gauss, cached),
        "torch_cpu": torch.get_rng_state().numpy().tobytes(),
    }
    if HAS_CUDA:
        out["torch_cuda"] = tuple(s.numpy().tobytes() for s in torch.cuda.get_rng_state_all())
    return out
