// GPU throughput with CUDA events: rb's generator, torch's default CUDA generator and cuRAND's
// host API (Philox4x32-10) against the device-to-device copy bandwidth measured in the same run,
// plus the cost of entering a block with CUDA generators covered.
//
//     gpu_bench [--json out.json] [--quick]
//
// Every figure is the median of 25 timed runs after 3 warm-ups, on buffers of 1 GiB (far beyond
// the L2 of any GPU); --quick (what CTest runs) times one run of each on 64 MiB, only to show
// that every benchmark still runs. Fill bandwidth counts bytes written; copy bandwidth counts
// bytes read plus bytes written, so "of copy" is the fraction of the memory system a fill uses.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <cuda_runtime.h>
#include <curand.h>
#include <torch/torch.h>

#include "rb/generator.hpp"
#include "rb/rb.hpp"

namespace {

#define CHECK_CUDA(call)                                                                      \
  do {                                                                                        \
    const cudaError_t e = (call);                                                             \
    if (e != cudaSuccess) {                                                                   \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(e));                  \
      std::exit(1);                                                                           \
    }                                                                                         \
  } while (0)
#define CHECK_CURAND(call)                                                                    \
  do {                                                                                        \
    const curandStatus_t s = (call);                                                          \
    if (s != CURAND_STATUS_SUCCESS) {                                                         \
      std::fprintf(stderr, "%s failed: %d\n", #call, static_cast<int>(s));                    \
      std::exit(1);                                                                           \
    }                                                                                         \
  } while (0)

/// Warm-ups and timed runs of each figure (1 and 1 with --quick).
int g_warmup = 3, g_runs = 25;

/// Median milliseconds of `f` on the current stream, by CUDA events.
double median_ms(const std::function<void()>& f) {
  const int warmup = g_warmup, runs = g_runs;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  for (int i = 0; i < warmup; ++i) f();
  CHECK_CUDA(cudaStreamSynchronize(stream));
  std::vector<double> ms;
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  for (int i = 0; i < runs; ++i) {
    CHECK_CUDA(cudaEventRecord(start, stream));
    f();
    CHECK_CUDA(cudaEventRecord(stop, stream));
    CHECK_CUDA(cudaEventSynchronize(stop));
    CHECK_CUDA(cudaGetLastError());
    float t = 0;
    CHECK_CUDA(cudaEventElapsedTime(&t, start, stop));
    ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

struct Row {
  std::string name;
  double ms, gb_per_s, of_copy;
};

}  // namespace

int main(int argc, char** argv) {
  std::string json;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--json" && i + 1 < argc) json = argv[i + 1];
    if (std::string(argv[i]) == "--quick") quick = true;
  }
  if (quick) g_warmup = g_runs = 1;
  if (!torch::cuda::is_available()) {
    std::printf("gpu_bench: no CUDA device here; nothing measured.\n");
    return 0;
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  const std::int64_t kBytes = std::int64_t{1} << (quick ? 26 : 30);
  std::vector<Row> rows;

  // The copy ceiling: bytes read + bytes written per second.
  auto src = torch::empty({kBytes / 4}, cuda).uniform_();
  auto dst = torch::empty_like(src);
  const double copy_ms = median_ms([&] { dst.copy_(src); });
  const double copy_gbs = 2.0 * kBytes / (copy_ms * 1e-3) / 1e9;
  rows.push_back({"device-to-device copy (read+write)", copy_ms, copy_gbs, 1.0});

  rb::set_seed(1);
  auto rb_gen = rb::make_generator(1, torch::kCUDA);
  auto torch_gen = at::cuda::detail::createCUDAGenerator(0);
  curandGenerator_t curand;
  CHECK_CURAND(curandCreateGenerator(&curand, CURAND_RNG_PSEUDO_PHILOX4_32_10));
  CHECK_CURAND(curandSetStream(curand, at::cuda::getCurrentCUDAStream()));
  CHECK_CURAND(curandSetPseudoRandomGeneratorSeed(curand, 1));

  auto add = [&](const std::string& name, std::int64_t bytes, const std::function<void()>& f) {
    const double ms = median_ms(f);
    const double gbs = bytes / (ms * 1e-3) / 1e9;
    rows.push_back({name, ms, gbs, gbs / copy_gbs});
  };
  auto f32 = torch::empty({kBytes / 4}, cuda);
  auto f64 = torch::empty({kBytes / 8}, cuda.dtype(torch::kDouble));
  auto i32 = torch::empty({kBytes / 4}, cuda.dtype(torch::kInt));
  add("uniform_ f32 rb", kBytes, [&] { f32.uniform_(0, 1, rb_gen); });
  add("uniform_ f32 torch", kBytes, [&] { f32.uniform_(0, 1, torch_gen); });
  add("uniform f32 cuRAND", kBytes, [&] { CHECK_CURAND(curandGenerateUniform(curand, f32.data_ptr<float>(), f32.numel())); });
  add("normal_ f32 rb", kBytes, [&] { f32.normal_(0, 1, rb_gen); });
  add("normal_ f32 torch", kBytes, [&] { f32.normal_(0, 1, torch_gen); });
  add("normal f32 cuRAND", kBytes, [&] { CHECK_CURAND(curandGenerateNormal(curand, f32.data_ptr<float>(), f32.numel(), 0, 1)); });
  add("uniform_ f64 rb", kBytes, [&] { f64.uniform_(0, 1, rb_gen); });
  add("uniform_ f64 torch", kBytes, [&] { f64.uniform_(0, 1, torch_gen); });
  add("normal_ f64 rb", kBytes, [&] { f64.normal_(0, 1, rb_gen); });
  add("normal_ f64 torch", kBytes, [&] { f64.normal_(0, 1, torch_gen); });
  add("random_ i32 rb", kBytes, [&] { i32.random_(0, 1000, rb_gen); });
  add("random_ i32 torch", kBytes, [&] { i32.random_(0, 1000, torch_gen); });
  add("bernoulli_ f32 rb", kBytes, [&] { f32.bernoulli_(0.5, rb_gen); });
  add("bernoulli_ f32 torch", kBytes, [&] { f32.bernoulli_(0.5, torch_gen); });
  add("exponential_ f32 rb", kBytes, [&] { f32.exponential_(1.0, rb_gen); });
  add("exponential_ f32 torch", kBytes, [&] { f32.exponential_(1.0, torch_gen); });
  const std::int64_t n_perm = 1 << 24;
  add("randperm 2^24 rb", n_perm * 8, [&] { torch::randperm(n_perm, rb_gen, cuda.dtype(torch::kLong)); });
  add("randperm 2^24 torch", n_perm * 8, [&] { torch::randperm(n_perm, torch_gen, cuda.dtype(torch::kLong)); });
  CHECK_CURAND(curandDestroyGenerator(curand));

  // Entering and leaving a block with every CUDA generator covered (host time, microseconds).
  auto host_us = [quick](const std::function<void()>& f) {
    for (int i = 0; i < (quick ? 1 : 1000); ++i) f();
    const auto t0 = std::chrono::steady_clock::now();
    const int n = quick ? 1 : 20000;
    for (int i = 0; i < n; ++i) f();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
  };
  const double keep_us = host_us([] { rb::Block b(10000); });
  const double restore_us = host_us([] { rb::Block b(10000, rb::OnExit::restore); });
  const double manual_us = host_us([] { torch::manual_seed(10000); });

  std::printf("\nrb GPU benchmark on %s (%d SMs), %lld MiB buffers, median of %d (CUDA events)%s\n",
              prop.name, prop.multiProcessorCount, static_cast<long long>(kBytes >> 20), g_runs,
              quick ? ": --quick, not a measurement" : "");
  std::printf("%-38s %10s %10s %9s\n", "", "ms", "GB/s", "of copy");
  for (const Row& r : rows) std::printf("%-38s %10.3f %10.1f %8.0f%%\n", r.name.c_str(), r.ms, r.gb_per_s, 100 * r.of_copy);
  std::printf("%-38s %10.2f us (keep), %.2f us (restore), torch::manual_seed %.2f us\n",
              "block entry+exit, CUDA covered", keep_us, restore_us, manual_us);

  if (!json.empty()) {
    std::ofstream out(json);
    out << "{\n  \"device\": \"" << prop.name << "\",\n  \"rows\": [\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      out << "    {\"name\": \"" << rows[i].name << "\", \"ms\": " << rows[i].ms << ", \"gb_per_s\": "
          << rows[i].gb_per_s << ", \"of_copy\": " << rows[i].of_copy << "}" << (i + 1 < rows.size() ? "," : "") << "\n";
    }
    out << "  ],\n  \"block_us\": {\"keep\": " << keep_us << ", \"restore\": " << restore_us
        << ", \"manual_seed\": " << manual_us << "}\n}\n";
  }
  return 0;
}
