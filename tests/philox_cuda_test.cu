// rb::philox inside a CUDA kernel: Random123's known answers and a million random inputs, compared
// with r123::Philox4x32 on the host. Skipped, visibly, where no GPU is present.
#include <random>
#include <vector>

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <Random123/philox.h>

#include "kat.hpp"
#include "rb/core.hpp"

namespace rb {
namespace {

__global__ void philox_kernel(const Counter* in, const Key* keys, const unsigned* rounds,
                              Counter* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  out[i] = rounds[i] == 7 ? philox_rounds<7>(in[i], keys[i]) : philox(in[i], keys[i]);
}

bool has_gpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call << ": " << cudaGetErrorString(call)

// Runs philox_kernel on n inputs and returns its outputs.
std::vector<Counter> run_on_gpu(const std::vector<Counter>& in, const std::vector<Key>& keys,
                                const std::vector<unsigned>& rounds) {
  const int n = static_cast<int>(in.size());
  Counter *d_in = nullptr, *d_out = nullptr;
  Key* d_keys = nullptr;
  unsigned* d_rounds = nullptr;
  std::vector<Counter> out(n);
  EXPECT_EQ(cudaMalloc(&d_in, n * sizeof(Counter)), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&d_out, n * sizeof(Counter)), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&d_keys, n * sizeof(Key)), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&d_rounds, n * sizeof(unsigned)), cudaSuccess);
  cudaMemcpy(d_in, in.data(), n * sizeof(Counter), cudaMemcpyHostToDevice);
  cudaMemcpy(d_keys, keys.data(), n * sizeof(Key), cudaMemcpyHostToDevice);
  cudaMemcpy(d_rounds, rounds.data(), n * sizeof(unsigned), cudaMemcpyHostToDevice);
  cudaMemset(d_out, 0xab, n * sizeof(Counter));  // poison: every output must be written
  philox_kernel<<<(n + 255) / 256, 256>>>(d_in, d_keys, d_rounds, d_out, n);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(out.data(), d_out, n * sizeof(Counter), cudaMemcpyDeviceToHost),
            cudaSuccess);
  cudaFree(d_in);
  cudaFree(d_out);
  cudaFree(d_keys);
  cudaFree(d_rounds);
  return out;
}

TEST(PhiloxCuda, MatchesRandom123KnownAnswersInAKernel) {
  if (!has_gpu()) GTEST_SKIP() << "no CUDA device here: the kernel known-answer test did not run";
  const auto vectors = test::read_philox4x32_kat(test::kat_path());
  ASSERT_GE(vectors.size(), 6u);
  std::vector<Counter> in;
  std::vector<Key> keys;
  std::vector<unsigned> rounds;
  for (const auto& v : vectors) {
    ASSERT_TRUE(v.rounds == 7 || v.rounds == 10);
    in.push_back(v.counter);
    keys.push_back(v.key);
    rounds.push_back(v.rounds);
  }
  const auto out = run_on_gpu(in, keys, rounds);
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    EXPECT_EQ(out[i], vectors[i].expected) << "vector " << i << ", " << vectors[i].rounds << " rounds";
  }
}

TEST(PhiloxCuda, MatchesRandom123OnRandomInputsInAKernel) {
  if (!has_gpu()) GTEST_SKIP() << "no CUDA device here: the kernel differential test did not run";
  const int n = 1 << 20;
  std::mt19937_64 source(20261127);
  std::vector<Counter> in(n);
  std::vector<Key> keys(n);
  std::vector<unsigned> rounds(n, 10);
  for (int i = 0; i < n; ++i) {
    const std::uint64_t a = source(), b = source();
    in[i] = Counter{{lo32(a), hi32(a), lo32(b), hi32(b)}};
    keys[i] = make_key(source());
  }
  const auto out = run_on_gpu(in, keys, rounds);
  r123::Philox4x32 reference;
  for (int i = 0; i < n; ++i) {
    const auto e = reference({{in[i].v[0], in[i].v[1], in[i].v[2], in[i].v[3]}},
                             {{keys[i].v[0], keys[i].v[1]}});
    ASSERT_EQ(out[i], (Counter{{e.v[0], e.v[1], e.v[2], e.v[3]}})) << "input " << i;
  }
}

}  // namespace
}  // namespace rb
