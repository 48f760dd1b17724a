"""rblock.reserve and rblock.triton: a Triton kernel reading a reservation gets the bits of rb's
generator (Note [Element mapping]). Without a GPU the kernels run in Triton's interpreter on CPU
tensors (conftest sets TRITON_INTERPRET=1); on the GPU machine they are compiled."""

import importlib.util
import pathlib
import threading

import pytest
import torch

import rblock
from conftest import HAS_CUDA, SEED, run_fresh

triton = pytest.importorskip("triton", reason="Triton is not installed: rblock.triton is untested")
import triton.language as tl  # noqa: E402

import rblock.triton as rbt  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")
DEVICE = "cuda" if HAS_CUDA else "cpu"
BLOCK = 64
BLOCK_SEEDS = [0, 7, 2**64 - 1]


@triton.jit
def sample_kernel(out_ptr, n, key, base, domain, substream, a, b,
                  MODE: tl.constexpr, BLOCK: tl.constexpr):
    """Fills n elements from outputs j of the stream, per rb's mapping: 32-bit modes take word k of
    output j for element 4j + k, 64-bit modes words (0, 1) and (2, 3) for elements 2j, 2j + 1."""
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    w = rbt.draw4(key, base, domain, substream, j)
    if MODE == "words":
        for k in tl.static_range(4):
            tl.store(out_ptr + 4 * j + k, w[k].to(tl.int64), mask=4 * j + k < n)
    elif MODE == "uniform32":
        for k in tl.static_range(4):
            tl.store(out_ptr + 4 * j + k, rbt.uniform_f32(w[k]), mask=4 * j + k < n)
    elif MODE == "randint32":
        for k in tl.static_range(4):
            tl.store(out_ptr + 4 * j + k, rbt.randint32(w[k], a, b), mask=4 * j + k < n)
    elif MODE == "bernoulli32":
        for k in tl.static_range(4):
            v = rbt.bernoulli(w[k], a).to(tl.float32)
            tl.store(out_ptr + 4 * j + k, v, mask=4 * j + k < n)
    else:
        for k in tl.static_range(2):
            lo, hi = w[2 * k], w[2 * k + 1]
            if MODE == "uniform64":
                v = rbt.uniform_f64(lo, hi)
            elif MODE == "randint64":
                v = rbt.randint64(lo, hi, a, b)
            else:  # bernoulli64
                v = rbt.bernoulli64(lo, hi, a).to(tl.float64)
            tl.store(out_ptr + 2 * j + k, v, mask=2 * j + k < n)


OUT_DTYPE = {"words": torch.int64, "uniform32": torch.float32, "randint32": torch.int64,
             "bernoulli32": torch.float32, "uniform64": torch.float64, "randint64": torch.int64,
             "bernoulli64": torch.float64}


def sample(mode, n, stream, a=0, b=0):
    """n elements drawn by sample_kernel from `stream` (an rblock.Stream)."""
    per = 2 if mode.endswith("64") else 4
    assert stream.n_counters == (n + per - 1) // per
    out = torch.empty(n, dtype=OUT_DTYPE[mode], device=DEVICE)
    grid = (triton.cdiv(stream.n_counters, BLOCK),)
    sample_kernel[grid](out, n, *stream.args(), a, b, MODE=mode, BLOCK=BLOCK)
    return out.cpu()


def reserve_for(mode, n):
    per = 2 if mode.endswith("64") else 4  # elements per Philox output
    return rblock.reserve((n + per - 1) // per)


def test_draw4_is_rbs_philox(seeded):
    # Random123's known answer (key 0, counter 0), then random keys, positions around 2^32 and
    # 2^64 (the 64-bit position wraps as rb::Stream's does), domains and sub-streams.
    known = rblock.Stream(0, 0, 0, 0, 1)
    assert sample("words", 4, known).tolist() == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    assert tuple(sample("words", 4, known).tolist()) == known.draw(0)
    g = torch.Generator().manual_seed(5)
    for base in [0, 2**32 - 3, 2**63 + 11, 2**64 - 2]:
        key = int(torch.randint(0, 2**62, (1,), generator=g)) * 4 + 3
        stream = rblock.Stream(key, base, 0xFFFFFFF0, 2**32 - 1, 5)
        words = sample("words", 20, stream).tolist()
        assert [tuple(words[4 * j:4 * j + 4]) for j in range(5)] == [stream.draw(j)
                                                                     for j in range(5)]


@pytest.mark.parametrize("block_seed", BLOCK_SEEDS)
def test_samplers_give_rbs_generator_bits(seeded, block_seed):
    g = rblock.generator(block_seed)
    with rblock.block(block_seed):
        # uniform float32: the first reservation, then the next one continues the stream
        assert torch.equal(sample("uniform32", 37, reserve_for("uniform32", 37)),
                           torch.rand(37, generator=g))
        assert torch.equal(sample("uniform32", 64, reserve_for("uniform32", 64)),
                           torch.rand(64, generator=g))
        assert torch.equal(sample("uniform64", 33, reserve_for("uniform64", 33)),
                           torch.rand(33, dtype=torch.float64, generator=g))
        assert torch.equal(sample("randint32", 50, reserve_for("randint32", 50), -5, 1000),
                           torch.randint(-5, 995, (50,), generator=g))
        assert torch.equal(sample("randint32", 12, reserve_for("randint32", 12), 0, 2**32),
                           torch.randint(0, 2**32, (12,), generator=g))
        assert torch.equal(sample("randint64", 21, reserve_for("randint64", 21), -(2**40), 2**41),
                           torch.randint(-(2**40), 2**40, (21,), generator=g))
        for p in [0.0, 0.3, 1.0]:
            assert torch.equal(sample("bernoulli32", 40, reserve_for("bernoulli32", 40),
                                      rbt.bernoulli_threshold(p)),
                               torch.empty(40).bernoulli_(p, generator=g))
        assert torch.equal(sample("bernoulli64", 30, reserve_for("bernoulli64", 30),
                                  rbt.bernoulli_threshold64(0.3)),
                           torch.empty(30, dtype=torch.float64).bernoulli_(0.3, generator=g))


def test_paths_and_per_rank_blocks(seeded):
    with rblock.block(("augment", 3, 5)):
        got = sample("uniform32", 16, reserve_for("uniform32", 16))
    g = rblock.generator(rblock.path("augment", 3, 5))
    assert torch.equal(got, torch.rand(16, generator=g))
    rblock.set_rank(1, 2)
    try:
        with rblock.block(9, per_rank=True):
            s = reserve_for("uniform32", 8)
        assert s.key == rblock._C.rank_key(rblock._C.derive_key(SEED, 9), 1)
        words = sample("words", 8, s).tolist()
        assert tuple(words[:4]) == s.draw(0) and tuple(words[4:]) == s.draw(1)
        with rblock.block(9):
            assert reserve_for("uniform32", 8).key != s.key
    finally:
        rblock.set_rank(0, 1)


def test_reservations_in_worker_blocks(seeded):
    with rblock.block(11):
        ctx = rblock.current_context()
        assert ctx.block_seed == 11 and ctx.engine == "torch"
        streams, errors = {}, []

        def work(worker):
            try:
                with rblock.WorkerBlock(ctx, worker):
                    streams[worker] = (rblock.reserve(4), rblock.reserve(2))
            except Exception as e:  # noqa: BLE001 (reported below, on the test's thread)
                errors.append(e)

        threads = [threading.Thread(target=work, args=(w,)) for w in (0, 5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        main = rblock.reserve(4)
    key = rblock._C.derive_key(SEED, 11)
    assert main == rblock.Stream(key, 0, 0, 0, 4)  # the workers left the block's stream alone
    values = {}
    for worker, (first, second) in streams.items():
        assert first == rblock.Stream(key, 0, 0, worker + 1, 4)
        assert second == rblock.Stream(key, 4, 0, worker + 1, 2)
        # (the kernel runs on this thread: Triton's interpreter is not safe to run from two)
        values[worker] = sample("uniform32", 16, first)
        words = [w for j in range(4) for w in first.draw(j)]
        expected = (torch.tensor(words, dtype=torch.int64) >> 8).float() * 2**-24
        assert torch.equal(values[worker], expected)
    assert not torch.equal(values[0], values[5])


def test_dropout_example_matches_rbs_cpu_dropout(seeded):
    spec = importlib.util.spec_from_file_location(
        "dropout_triton", pathlib.Path(__file__).parents[2] / "examples" / "dropout_triton.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    x = torch.randn(1001, device=DEVICE)
    for p in [0.1, 0.3, 0.5]:
        with rblock.block(("dropout", str(p)), engine="philox"):
            out, mask = example.dropout(x, p, block=64)
        g = rblock.generator(rblock.path("dropout", str(p)))
        noise = torch.empty(1001).bernoulli_(1 - p, generator=g)
        assert torch.equal(mask.cpu(), noise.bool())
        assert torch.equal(out.cpu(), x.cpu() * noise.div_(1 - p))  # torch's CPU dropout formula


class TritonAugmented(torch.utils.data.Dataset):
    """Per-sample noise from a Triton kernel in the sample's block."""

    def __len__(self):
        return 6

    def __getitem__(self, index):
        with rblock.block(("noise", index)):
            return sample("uniform32", 8, reserve_for("uniform32", 8))


def test_per_sample_triton_noise_in_dataloader_workers(seeded):
    expected = [TritonAugmented()[i] for i in range(6)]
    loader = torch.utils.data.DataLoader(TritonAugmented(), batch_size=2, num_workers=2,
                                         worker_init_fn=rblock.worker_init_fn)
    got = torch.cat(list(loader))
    assert torch.equal(got, torch.stack(expected))


def test_reserve_errors(seeded):
    for bad, error in [(1.5, rblock.ArgumentTypeError), (True, rblock.ArgumentTypeError),
                       ("3", rblock.ArgumentTypeError), (-1, rblock.ArgumentError),
                       (2**64, rblock.ArgumentError)]:
        with pytest.raises(error):
            rblock.reserve(bad)
    with rblock.block(12):
        assert rblock.reserve(2**64 - 1).base == 0  # the whole stream
        with pytest.raises(rblock.Error, match="end"):
            rblock.reserve(1)  # past its end: refused, nothing changed
        assert rblock.reserve(0).base == 2**64 - 1
    with pytest.raises(rblock.ArgumentError, match="probability"):
        rbt.bernoulli_threshold(1.5)
    with pytest.raises(rblock.ArgumentError, match="beyond"):
        rblock.Stream(1, 0, 0, 0, 2).draw(2)
    with pytest.raises(rblock.ArgumentTypeError):
        rblock.WorkerBlock((0, 1, 0), 0)


def test_reserve_before_set_seed():
    out = run_fresh("""
        import rblock
        try:
            rblock.reserve(4)
        except rblock.Error as e:
            print(e)
    """)
    assert "rblock.reserve() called before set_seed" in out


@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device: the graph-capture refusal needs a GPU")
def test_reserve_refused_during_cuda_graph_capture(seeded):
    graph = torch.cuda.CUDAGraph()
    x = torch.zeros(4, device="cuda")
    with pytest.raises(rblock.Error, match="captur"):
        with torch.cuda.graph(graph):
            x.add_(1)
            rblock.reserve(4)
