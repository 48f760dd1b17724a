"""copy.copy, copy.deepcopy and pickle of rb's generator give an rb generator at the same
position, independent of the original; torch's own generators copy as before."""

import copy
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch

import rblock
from conftest import HAS_CUDA

CLONES = {
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "pickle": lambda g: pickle.loads(pickle.dumps(g)),
}


@pytest.mark.parametrize("clone", CLONES.values(), ids=CLONES.keys())
def test_a_copy_is_an_rb_generator_at_the_same_position(seeded, clone):
    g = rblock.generator(5)
    torch.rand(10, generator=g)
    c = clone(g)
    assert c is not g and c.device == g.device
    assert (c.initial_seed(), c.get_offset()) == (g.initial_seed(), g.get_offset())
    assert torch.equal(c.get_state(), g.get_state())
    assert torch.equal(torch.rand(100, generator=c), torch.rand(100, generator=g))
    torch.rand(40, generator=c)
    assert c.get_offset() == g.get_offset() + 10  # independent of the original


@pytest.mark.parametrize("clone", CLONES.values(), ids=CLONES.keys())
def test_a_cuda_generator_copies_to_its_device(seeded, clone):
    g = rblock.generator(6, "cuda")  # made without touching the GPU: it needs none to exist
    g.set_offset(12)
    c = clone(g)
    assert c.device == g.device and c.get_offset() == 12
    assert torch.equal(c.get_state(), g.get_state())


def test_deep_copies_of_a_sampler_and_a_module_holding_one(seeded):
    sampler = torch.utils.data.RandomSampler(range(20), generator=rblock.generator(7))
    twin = copy.deepcopy(sampler)
    assert list(twin) == list(sampler)
    model = torch.nn.Linear(2, 2)
    model.noise = rblock.generator(8)
    twin = copy.deepcopy(model)
    assert torch.equal(torch.rand(5, generator=twin.noise), torch.rand(5, generator=model.noise))


def test_a_pickled_generator_loads_in_a_fresh_process(seeded):
    g = rblock.generator(9)
    torch.rand(3, generator=g)
    data = pickle.dumps(g)
    expected = torch.rand(8, generator=g).tolist()
    code = textwrap.dedent("""
        import pickle, sys, torch
        g = pickle.loads(sys.stdin.buffer.read())  # no rblock.set_seed: the state carries the seeds
        print(torch.rand(8, generator=g).tolist())
    """)
    out = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.decode().strip() == str(expected)


@pytest.mark.parametrize("clone", CLONES.values(), ids=CLONES.keys())
def test_torch_generators_copy_as_before(clone):
    devices = ["cpu", "cuda"] if HAS_CUDA else ["cpu"]
    for device in devices:
        g = torch.Generator(device).manual_seed(3)
        torch.rand(5, generator=g, device=device)
        c = clone(g)
        assert type(c) is torch.Generator and c.device == g.device
        assert torch.equal(torch.rand(5, generator=c, device=device), torch.rand(5, generator=g, device=device))
