// Fill throughput on the CPU: rb's generator against torch's default generator for the same op,
// raw Philox bits against scalar Random123 and std::mt19937 (in memory and in the L2 cache), and
// the cost of Engine::philox routing for random and non-random ops. Bytes counted are bytes
// written.
#include <cstdint>
#include <random>
#include <vector>

#include <ATen/Parallel.h>
#include <Random123/philox.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "fill.hpp"
#include "rb/generator.hpp"
#include "rb/rb.hpp"

namespace {

constexpr std::int64_t kBytes = 64 << 20;  // 64 MiB: far beyond the caches of this machine

enum class Source { rb, torch };

at::Generator generator(Source source) {
  rb::set_seed(1);
  return source == Source::rb ? rb::make_generator(1) : at::detail::createCPUGenerator(1);
}

/// One fill op on a 64 MiB tensor of `dtype`, with rb's generator or torch's, on range(0) threads.
template <class Op>
void run_fill(benchmark::State& state, Source source, torch::ScalarType dtype, Op op) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  auto gen = generator(source);
  auto t = torch::empty({kBytes / static_cast<std::int64_t>(c10::elementSize(dtype))}, dtype);
  op(t, gen);  // warm-up: page in the tensor
  for (auto _ : state) {
    op(t, gen);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kBytes);
  state.counters["threads"] = static_cast<double>(state.range(0));
}

#define RB_FILL_BENCH(NAME, DTYPE, OP)                                                              \
  void BM_##NAME##_rb(benchmark::State& s) { run_fill(s, Source::rb, DTYPE, OP); }                  \
  void BM_##NAME##_torch(benchmark::State& s) { run_fill(s, Source::torch, DTYPE, OP); }            \
  BENCHMARK(BM_##NAME##_rb)->Name("Fill/" #NAME "/rb")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond); \
  BENCHMARK(BM_##NAME##_torch)->Name("Fill/" #NAME "/torch")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)

RB_FILL_BENCH(uniform_f32, torch::kFloat, [](torch::Tensor& t, at::Generator& g) { t.uniform_(0, 1, g); });
RB_FILL_BENCH(uniform_f64, torch::kDouble, [](torch::Tensor& t, at::Generator& g) { t.uniform_(0, 1, g); });
RB_FILL_BENCH(normal_f32, torch::kFloat, [](torch::Tensor& t, at::Generator& g) { t.normal_(0, 1, g); });
RB_FILL_BENCH(normal_f64, torch::kDouble, [](torch::Tensor& t, at::Generator& g) { t.normal_(0, 1, g); });
RB_FILL_BENCH(random_i32, torch::kInt, [](torch::Tensor& t, at::Generator& g) { t.random_(0, 1000, g); });
RB_FILL_BENCH(bernoulli_f32, torch::kFloat, [](torch::Tensor& t, at::Generator& g) { t.bernoulli_(0.5, g); });
RB_FILL_BENCH(exponential_f32, torch::kFloat, [](torch::Tensor& t, at::Generator& g) { t.exponential_(1.0, g); });
RB_FILL_BENCH(exponential_f64, torch::kDouble, [](torch::Tensor& t, at::Generator& g) { t.exponential_(1.0, g); });
RB_FILL_BENCH(exponential_rate3_f64, torch::kDouble, [](torch::Tensor& t, at::Generator& g) { t.exponential_(3.0, g); });
RB_FILL_BENCH(cauchy_f64, torch::kDouble, [](torch::Tensor& t, at::Generator& g) { t.cauchy_(0, 1, g); });

// randperm of 2^range(1) elements (int64 written) on range(0) threads: every size at which one
// of the two is ahead (torch shuffles in cache up to about 2^16 elements; rb sorts drawn keys).
template <Source kSource>
void BM_Randperm(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  auto gen = generator(kSource);
  const std::int64_t n = std::int64_t{1} << state.range(1);
  for (auto _ : state) benchmark::DoNotOptimize(torch::randperm(n, gen));
  state.SetBytesProcessed(state.iterations() * n * 8);
}
void randperm_sizes(benchmark::internal::Benchmark* b) {
  for (int log2_n : {9, 12, 16, 20, 24}) b->Args({1, log2_n});
  b->Args({2, 20});
  b->ArgNames({"threads", "log2_n"})->UseRealTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK_TEMPLATE(BM_Randperm, Source::rb)->Name("Fill/randperm/rb")->Apply(randperm_sizes);
BENCHMARK_TEMPLATE(BM_Randperm, Source::torch)->Name("Fill/randperm/torch")->Apply(randperm_sizes);

// ---- raw bits: 32-bit words on the calling thread ------------------------------------------------
// Into 64 MiB (Fill/raw_bits: the memory system takes part, as in a fill) and into 256 KiB over
// and over (Fill/raw_bits_in_l2: the buffer stays in the L2 cache, so the generators alone are
// compared).

constexpr std::int64_t kL2Bytes = 256 << 10;

template <std::int64_t kOutBytes>
void BM_RawPhiloxRb(benchmark::State& state) {
  std::vector<std::uint32_t> out(kOutBytes / 4);
  const rb::Stream s = rb::make_stream(rb::derive_key(1, 1), rb::Domain::rb_stream);
  for (auto _ : state) {
    rb::detail::philox_words(s, 0, out.size() / 4, out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kOutBytes);
}

template <std::int64_t kOutBytes>
void BM_RawPhiloxRandom123(benchmark::State& state) {
  std::vector<std::uint32_t> out(kOutBytes / 4);
  r123::Philox4x32 philox;
  const r123::Philox4x32::key_type key = {{1, 2}};
  for (auto _ : state) {
    for (std::size_t i = 0; i < out.size(); i += 4) {
      const auto r = philox({{static_cast<std::uint32_t>(i / 4), 0, 0, 0}}, key);
      out[i] = r.v[0];
      out[i + 1] = r.v[1];
      out[i + 2] = r.v[2];
      out[i + 3] = r.v[3];
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kOutBytes);
}

template <std::int64_t kOutBytes>
void BM_RawMt19937(benchmark::State& state) {
  std::vector<std::uint32_t> out(kOutBytes / 4);
  std::mt19937 mt(1);
  for (auto _ : state) {
    for (auto& w : out) w = mt();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kOutBytes);
}

BENCHMARK_TEMPLATE(BM_RawPhiloxRb, kBytes)->Name("Fill/raw_bits/rb_philox_vectorized")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_RawPhiloxRandom123, kBytes)->Name("Fill/raw_bits/random123_scalar")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_RawMt19937, kBytes)->Name("Fill/raw_bits/std_mt19937")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_RawPhiloxRb, kL2Bytes)->Name("Fill/raw_bits_in_l2/rb_philox_vectorized")->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_RawPhiloxRandom123, kL2Bytes)->Name("Fill/raw_bits_in_l2/random123_scalar")->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_RawMt19937, kL2Bytes)->Name("Fill/raw_bits_in_l2/std_mt19937")->Unit(benchmark::kMicrosecond);

// ---- Engine::philox: random ops routed to rb, non-random ops untouched -----------------------------

/// Runs `op` range(0) == 0: outside any block; 1: inside a torch-engine block; 2: inside a
/// philox-engine block.
template <class Op>
void run_engine(benchmark::State& state, Op op) {
  at::set_num_threads(1);
  rb::set_seed(1);
  std::optional<rb::Block> block;
  if (state.range(0) == 1) block.emplace(5, rb::OnExit::keep, rb::Engine::torch);
  if (state.range(0) == 2) block.emplace(5, rb::OnExit::keep, rb::Engine::philox);
  op(state);
  state.SetLabel(state.range(0) == 0 ? "no block" : state.range(0) == 1 ? "torch engine" : "philox engine");
}

void BM_EngineAdd(benchmark::State& state) {
  run_engine(state, [](benchmark::State& s) {
    const auto a = torch::ones({1024}), b = torch::ones({1024});
    for (auto _ : s) benchmark::DoNotOptimize(torch::add(a, b));
  });
}
BENCHMARK(BM_EngineAdd)->Name("Engine/add_1024")->Arg(0)->Arg(1)->Arg(2);

void BM_EngineForeachAdd(benchmark::State& state) {
  run_engine(state, [](benchmark::State& s) {
    std::vector<torch::Tensor> xs;
    for (int i = 0; i < 16; ++i) xs.push_back(torch::ones({1024}));
    for (auto _ : s) torch::_foreach_add_(xs, 1.0);
  });
}
BENCHMARK(BM_EngineForeachAdd)->Name("Engine/foreach_add_16x1024")->Arg(0)->Arg(1)->Arg(2);

void BM_EngineLinearForward(benchmark::State& state) {
  run_engine(state, [](benchmark::State& s) {
    torch::NoGradGuard no_grad;
    torch::nn::Linear fc(256, 256);
    const auto x = torch::ones({64, 256});
    for (auto _ : s) benchmark::DoNotOptimize(fc->forward(x));
  });
}
BENCHMARK(BM_EngineLinearForward)->Name("Engine/linear_64x256")->Arg(0)->Arg(1)->Arg(2);

template <int kOp, int kLog2N = 20>
void BM_EngineRandom(benchmark::State& state) {
  run_engine(state, [](benchmark::State& s) {
    auto t = torch::empty({1 << kLog2N});
    for (auto _ : s) {
      if constexpr (kOp == 0) t.uniform_();
      if constexpr (kOp == 1) t.normal_();
      if constexpr (kOp == 2) t.bernoulli_(0.5);
      if constexpr (kOp == 3) benchmark::DoNotOptimize(torch::randperm(1 << 16));
    }
    s.SetBytesProcessed(s.iterations() * (kOp == 3 ? (1 << 16) * 8 : (1 << kLog2N) * 4));
  });
}
BENCHMARK_TEMPLATE(BM_EngineRandom, 0)->Name("Engine/uniform_2^20")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_EngineRandom, 1)->Name("Engine/normal_2^20")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_EngineRandom, 2)->Name("Engine/bernoulli_2^20")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_EngineRandom, 3)->Name("Engine/randperm_2^16")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
// 16 elements: the cost of a call (torch's normal_ has a fast path from 16 elements on).
BENCHMARK_TEMPLATE(BM_EngineRandom, 0, 4)->Name("Engine/uniform_16")->Arg(1)->Arg(2);
BENCHMARK_TEMPLATE(BM_EngineRandom, 1, 4)->Name("Engine/normal_16")->Arg(1)->Arg(2);
BENCHMARK_TEMPLATE(BM_EngineRandom, 2, 4)->Name("Engine/bernoulli_16")->Arg(1)->Arg(2);

}  // namespace
