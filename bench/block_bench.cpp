// Entering (and leaving) a block against the block seed: rb's O(1) derivation against the replay
// of torch-reproducible-block and against what users write by hand (save, manual_seed, restore).
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <ATen/Context.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "rb/rb.hpp"

namespace {

constexpr std::uint64_t kInitialSeed = 42;

/// The block seeds of the sweep: 0, 1, 10, ..., 10^6, 2^32 and 2^64 - 1.
const std::vector<std::uint64_t>& block_seeds() {
  static const std::vector<std::uint64_t> seeds = [] {
    std::vector<std::uint64_t> s = {0};
    for (std::uint64_t p = 1; p <= 1000000; p *= 10) s.push_back(p);
    s.push_back(std::uint64_t{1} << 32);
    s.push_back(~std::uint64_t{0});
    return s;
  }();
  return seeds;
}

std::uint64_t seed_of(const benchmark::State& state) { return block_seeds()[state.range(0)]; }

void label(benchmark::State& state) {
  state.SetLabel(std::to_string(seed_of(state)));
  state.counters["block_seed"] = static_cast<double>(seed_of(state));
}

// ---- rb ------------------------------------------------------------------------------------------

template <rb::OnExit kOnExit, rb::Engine kEngine>
void BM_RbBlock(benchmark::State& state) {
  at::set_num_threads(1);
  rb::set_seed(kInitialSeed);
  const std::uint64_t seed = seed_of(state);
  for (auto _ : state) {
    rb::Block block(seed, kOnExit, kEngine);
    benchmark::DoNotOptimize(&block);
  }
  label(state);
}
BENCHMARK_TEMPLATE(BM_RbBlock, rb::OnExit::keep, rb::Engine::torch)->Name("EnterExit/rb_keep")->DenseRange(0, 9);
BENCHMARK_TEMPLATE(BM_RbBlock, rb::OnExit::restore, rb::Engine::torch)->Name("EnterExit/rb_restore")->DenseRange(0, 9);
BENCHMARK_TEMPLATE(BM_RbBlock, rb::OnExit::keep, rb::Engine::philox)->Name("EnterExit/rb_philox_keep")->DenseRange(0, 9);

// What finding divergences costs a block (Note [Block reuse], Note [Trace format]), beside
// EnterExit/rb_keep, which checks reuse (the default policy, warn; every entry from one site, so
// nothing is reused): without the check (Reuse::allow), and with a trace written to a file.
void BM_RbBlockReuseAllow(benchmark::State& state) {
  at::set_num_threads(1);
  rb::set_reuse_policy(rb::Reuse::allow);
  rb::set_seed(kInitialSeed);
  const std::uint64_t seed = seed_of(state);
  for (auto _ : state) {
    rb::Block block(seed);
    benchmark::DoNotOptimize(&block);
  }
  rb::set_reuse_policy(rb::Reuse::warn);
  label(state);
}
BENCHMARK(BM_RbBlockReuseAllow)->Name("EnterExit/rb_keep_reuse_allow")->Arg(1);

void BM_RbBlockTraced(benchmark::State& state) {
  at::set_num_threads(1);
  rb::set_seed(kInitialSeed);
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/rb_bench_trace.jsonl";
  rb::start_trace(path);  // a line of ~330 bytes per block: ~60 MB for a 0.5 s run
  const std::uint64_t seed = seed_of(state);
  for (auto _ : state) {
    rb::Block block(seed);
    benchmark::DoNotOptimize(&block);
  }
  rb::stop_trace();
  std::remove(path.c_str());
  label(state);
}
BENCHMARK(BM_RbBlockTraced)->Name("EnterExit/rb_keep_traced")->Arg(1);

// ---- the peers -------------------------------------------------------------------------------

// torch::manual_seed alone: the floor a keep block is compared with.
void BM_ManualSeed(benchmark::State& state) {
  const std::uint64_t seed = seed_of(state);
  for (auto _ : state) torch::manual_seed(seed);
  label(state);
}
BENCHMARK(BM_ManualSeed)->Name("EnterExit/torch_manual_seed")->DenseRange(0, 9);

std::uint64_t splitmix64(std::uint64_t x) {  // Steele, Lea and Flood's SplitMix64 finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// By hand, as torch.random.fork_rng does: save the states, manual_seed(hash(initial, block)),
// restore them on exit.
void BM_ForkRng(benchmark::State& state) {
  at::set_num_threads(1);
  const std::uint64_t seed = seed_of(state);
  auto cpu = at::detail::getDefaultCPUGenerator();
  const bool cuda = torch::cuda::is_available();
  for (auto _ : state) {
    const torch::Tensor saved = cpu.get_state();
    std::vector<torch::Tensor> saved_cuda;
    if (cuda) {
      for (int d = 0; d < static_cast<int>(torch::cuda::device_count()); ++d)
        saved_cuda.push_back(at::globalContext().defaultGenerator(at::Device(at::kCUDA, d)).get_state());
    }
    torch::manual_seed(splitmix64(kInitialSeed ^ splitmix64(seed)));
    cpu.set_state(saved);
    for (int d = 0; d < static_cast<int>(saved_cuda.size()); ++d) {
      at::Generator gen = at::globalContext().defaultGenerator(at::Device(at::kCUDA, d));
      gen.set_state(saved_cuda[d]);
    }
  }
  label(state);
}
BENCHMARK(BM_ForkRng)->Name("EnterExit/fork_rng_manual_seed")->DenseRange(0, 9);

// torch-reproducible-block 0.0.1, faithfully in C++: reset every generator to the reference
// state, then block_seed rounds of one draw from each: torch.randint(1, 10, (1,)) on torch's CPU
// generator, and a Mersenne Twister draw standing in for Python's random and one for NumPy's.
struct ReplayState {
  torch::Tensor torch_reference;
  std::mt19937 python_reference, numpy_reference;
  std::mt19937 python, numpy;
};

void BM_Replay(benchmark::State& state) {
  at::set_num_threads(1);
  const std::uint64_t seed = seed_of(state);
  torch::manual_seed(kInitialSeed);
  ReplayState s{at::detail::getDefaultCPUGenerator().get_state(), std::mt19937(kInitialSeed),
                std::mt19937(kInitialSeed), {}, {}};
  auto cpu = at::detail::getDefaultCPUGenerator();
  std::uniform_int_distribution<int> one_to_nine(1, 9);
  for (auto _ : state) {
    cpu.set_state(s.torch_reference);
    s.python = s.python_reference;
    s.numpy = s.numpy_reference;
    for (std::uint64_t i = 0; i < seed; ++i) {
      benchmark::DoNotOptimize(one_to_nine(s.python));
      benchmark::DoNotOptimize(one_to_nine(s.numpy));
      benchmark::DoNotOptimize(torch::randint(1, 10, {1}));
    }
  }
  label(state);
}
BENCHMARK(BM_Replay)->Name("EnterExit/replay_torch_reproducible_block")->DenseRange(0, 6)->Unit(benchmark::kMicrosecond);

}  // namespace
