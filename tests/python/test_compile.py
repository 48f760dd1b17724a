"""rb in compiled and traced PyTorch: meta tensors, FakeTensor, torch.export, torch.func and
torch.compile work after rblock.set_seed, and compiled code keeps every guarantee of a block
(Note [Composite kernels at CustomRNGKeyId], Note [Random ops under torch.compile])."""

import contextlib

import pytest
import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import FakeTensorMode

import rblock
from conftest import HAS_CUDA, SEED, run_fresh

# Tests enter one block from several lines on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")

BACKENDS = ["eager", "aot_eager", "inductor"]
CONTEXTS = {
    "outside": contextlib.nullcontext,
    "torch": lambda: rblock.block(9),
    "philox": lambda: rblock.block(9, engine="philox"),
}
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not HAS_CUDA, reason="no CUDA device: the compiled CUDA checks need a GPU"))]


@pytest.fixture(autouse=True)
def fresh_dynamo(seeded):
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def matmul_relu(x, w):
    return (x @ w).relu()


# ---- Issue 21's table: each row worked without rb and crashed after set_seed -------------------

@pytest.mark.parametrize("where", CONTEXTS)
def test_meta_and_fake_tensors(where):
    with CONTEXTS[where]():
        m = torch.empty(4, device="meta") + 1
        assert m.device.type == "meta" and m.shape == (4,)
        with FakeTensorMode():
            f = torch.empty(4) + 1
            g = torch.rand(3, 5) @ torch.randn(5, 2)  # random ops on fake tensors too
        assert f.shape == (4,) and g.shape == (3, 2)
        assert (torch.rand(8, device="meta") + 1).shape == (8,)


@pytest.mark.parametrize("where", CONTEXTS)
def test_export(where):
    x = torch.randn(2, 4)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())
    with CONTEXTS[where]():
        exported = torch.export.export(model, (x,))
    torch.testing.assert_close(exported.module()(x), model(x), rtol=0, atol=0)
    # The exported graph holds torch's own ops, portable without rb.
    assert "rblock" not in str(exported.graph)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("where", CONTEXTS)
def test_compile_without_random_ops(where, backend):
    x, w = torch.randn(3, 4), torch.randn(4, 4)
    with CONTEXTS[where]():
        got = torch.compile(matmul_relu, backend=backend)(x, w)
    torch.testing.assert_close(got, matmul_relu(x, w))


@pytest.mark.parametrize("where", CONTEXTS)
def test_torch_func_transforms(where):
    x = torch.randn(3, 4)
    with CONTEXTS[where]():
        assert torch.equal(torch.func.vmap(torch.sin)(x), torch.sin(x))
        g = torch.func.grad(lambda a: a.sin().sum())(x)
        assert torch.equal(g, torch.cos(x))
        j = torch.func.jacrev(torch.sin)(torch.randn(3))
        assert j.shape == (3, 3)
        # randomness="different": one draw per batch element, from rb in a philox block
        r = torch.func.vmap(lambda a: a + torch.rand(()), randomness="different")(torch.zeros(4))
        assert r.shape == (4,) and len(set(r.tolist())) == 4


# ---- compiled draws ------------------------------------------------------------------------------

def random_ops(x):
    """Every random op rb covers, generator-less, as a model would call them."""
    p = torch.full_like(x, 0.3)
    return (
        torch.rand(5, device=x.device),
        torch.randn(7, device=x.device, dtype=torch.float64),
        torch.rand_like(x),
        torch.randn_like(x),
        torch.randint(0, 10, (6,), device=x.device),
        torch.randint_like(x, 3, 1000),
        torch.randperm(9, device=x.device),
        torch.bernoulli(p),
        torch.bernoulli(x, 0.25),
        F.dropout(x, 0.5),
        torch.nn.Dropout(0.2)(x.double()),
        torch.empty_like(x).uniform_(-2, 3),
        torch.empty_like(x).normal_(1, 2),
        torch.empty_like(x).exponential_(),
        torch.empty_like(x).log_normal_(),
        torch.empty_like(x).cauchy_(),
        torch.empty_like(x).geometric_(0.3),
        torch.empty_like(x).random_(0, 100),
        torch.normal(x, 2.0),
        torch.multinomial(p.abs() + 0.1, 3),
        torch.multinomial(p.abs() + 0.1, 40, replacement=True),
        F.rrelu(x - 0.5, training=True),
    )


def assert_bits_equal(a, b):
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b)):
        assert u.dtype == v.dtype and u.shape == v.shape, i
        assert torch.equal(u, v), f"output {i} of random_ops differs"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_philox_block_compiled_equals_eager(backend, device):
    x = torch.rand(32, device=device)
    compiled = torch.compile(random_ops, backend=backend)
    with rblock.block(21, engine="philox"):
        eager = random_ops(x)
        eager_next = torch.rand(3, device=device)  # the stream after the ops
    with rblock.block(21, engine="philox"):
        got = compiled(x)
        got_next = torch.rand(3, device=device)
    assert_bits_equal(got, eager)
    assert torch.equal(got_next, eager_next)
    # ... and rb's numbers, not torch's: the same ops in a torch-engine block differ
    with rblock.block(21):
        assert not torch.equal(compiled(x)[0], eager[0])


@pytest.mark.parametrize("device", DEVICES)
def test_torch_block_compiled_reproducible_per_block(device):
    x = torch.rand(32, device=device)
    compiled = torch.compile(random_ops)
    runs = []
    for before in [0, 5]:
        torch.rand(before, device=device)  # whatever ran before the block
        with rblock.block(22):
            runs.append(compiled(x))
    assert_bits_equal(runs[0], runs[1])
    with rblock.block(23):
        other = compiled(x)
    assert not torch.equal(other[0], runs[0][0])
    # fallback_random: torch's eager draws of the block, bit for bit, but for rrelu (the last
    # output): torch 2.11's Inductor decomposes it into uniform, whose draws differ from torch's
    # rrelu kernel (rb's rrelu draws one uniform per element either way: philox blocks agree).
    with rblock.block(22):
        assert_bits_equal(random_ops(x)[:-1], runs[0][:-1])


def test_unused_draws_still_advance_the_stream():
    def f():
        torch.rand(4)  # unused: Inductor must not remove it
        return torch.rand(3)

    with rblock.block(24, engine="philox"):
        eager = f()
    with rblock.block(24, engine="philox"):
        got = torch.compile(f)()
    assert torch.equal(got, eager)


@pytest.mark.parametrize("engine", ["philox", "torch"])
def test_draws_keep_their_order(engine):
    # Each draw feeds only a later op, in the opposite order: a pass that moves producers next to
    # their consumers would swap the draws.
    def f(x):
        a = torch.rand(x.shape)
        b = torch.randn(x.shape)
        c = torch.empty_like(x).bernoulli_(0.5)
        return (c * x).sum(), b + x, a * x

    x = torch.ones(64)
    with rblock.block(25, engine=engine):
        eager = f(x)
    with rblock.block(25, engine=engine):
        got = torch.compile(f)(x)
    assert_bits_equal(got, eager)


def test_no_recompile_across_blocks_and_engines():
    x = torch.rand(16)
    compiled = torch.compile(lambda a: F.dropout(a, 0.5) + torch.rand_like(a))
    compiled(x)  # the first call compiles, outside any block
    with torch._dynamo.config.patch(error_on_recompile=True):
        for seed in [1, 2, 3]:
            for engine in ["torch", "philox"]:
                with rblock.block(seed, engine=engine):
                    compiled(x)
                with rblock.block(("nested", seed), engine=engine, restore=True):
                    compiled(x)


def test_rb_generator_in_compiled_code():
    def f(x, g):
        return x + torch.rand(x.shape, generator=g), torch.randn(3, generator=g) * 2

    x = torch.ones(5)
    g_eager, g_compiled = rblock.generator(7), rblock.generator(7)
    torch._dynamo.utils.counters.clear()
    compiled = torch.compile(f)
    for _ in range(2):
        assert_bits_equal(compiled(x, g_compiled), f(x, g_eager))
        assert g_compiled.get_offset() == g_eager.get_offset()
    # Dynamo breaks the graph at ops given a generator (it is a user object to Dynamo): they run
    # eagerly, on rb's generator, and the README says so.
    assert sum(torch._dynamo.utils.counters["graph_break"].values()) >= 1


def test_block_written_inside_compiled_code():
    def f(x):
        a = torch.rand(4)
        with rblock.block(31, engine="philox"):
            b = F.dropout(x, 0.5) + torch.randn_like(x)
        with rblock.block(32, restore=True):
            c = torch.rand(4)
        return a, b, c, torch.rand(2)

    x = torch.ones(6)
    with rblock.block(30):
        eager = f(x)
    with rblock.block(30):
        got = torch.compile(f)(x)
    assert_bits_equal(got, eager)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(8, 32)
        self.fc2 = torch.nn.Linear(32, 1)

    def forward(self, x):
        h = torch.utils.checkpoint.checkpoint(
            lambda t: F.dropout(self.fc1(t).relu(), 0.5), x, use_reentrant=False)
        return self.fc2(h).sum()


@pytest.mark.parametrize("engine", ["philox", "torch"])
def test_checkpoint_inside_compiled_code(engine):
    with rblock.block("net"):
        net = Net()
    x = torch.randn(16, 8)

    def grads(step):
        net.zero_grad()
        with rblock.block(40, engine=engine):
            loss = step(x)
            loss.backward()
        return [loss.detach()] + [p.grad.clone() for p in net.parameters()]

    eager, compiled = grads(net), grads(torch.compile(net))
    for e, c in zip(eager, compiled):
        torch.testing.assert_close(c, e, rtol=1e-6, atol=1e-6)
    # The dropout masks are the eager ones: the gradient of fc1's bias vanishes exactly where
    # eager's does.
    assert torch.equal(compiled[2] == 0, eager[2] == 0)


def test_fallback_random_turned_off_is_refused():
    import torch._inductor.config as inductor_config

    rblock.set_seed(SEED)  # torch._dynamo.reset() (the fixture) dropped the check: back again
    assert inductor_config.fallback_random  # set_seed turned it on
    try:
        inductor_config.fallback_random = False
        with pytest.raises(Exception, match="fallback_random=True is what rb set"):
            torch.compile(lambda a: a + torch.rand_like(a))(torch.ones(3))
    finally:
        inductor_config.fallback_random = True


def test_set_seed_does_not_import_dynamo():
    out = run_fresh("""
        import sys, rblock
        rblock.set_seed(1)
        print("torch._dynamo" in sys.modules)
        import torch, torch._inductor.config as c
        print(c.fallback_random)
    """)
    assert out.split() == ["False", "True"]
