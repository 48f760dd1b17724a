// rb's portable math inside a CUDA kernel gives the host's bits: every function on about a million
// inputs (random bits, the samplers' ranges, special values). Skipped, visibly, where no GPU is
// present. See Note [Portable arithmetic] in rb/detail/portable_math.hpp.
#include <cstdint>
#include <random>
#include <vector>

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include "rb/detail/portable_math.hpp"

namespace rb::detail {
namespace {

enum class Fn { log, log1p, exp, sincospi };

template <class T>
__global__ void math_kernel(Fn fn, const T* x, T* y, T* y2, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if constexpr (sizeof(T) == 4) {
    switch (fn) {
      case Fn::log: y[i] = log_f32(x[i]); break;
      case Fn::log1p: y[i] = log1p_f32(x[i]); break;
      case Fn::exp: y[i] = exp_f32(x[i]); break;
      case Fn::sincospi: sincospi_f32(x[i], &y[i], &y2[i]); break;
    }
  } else {
    switch (fn) {
      case Fn::log: y[i] = log_f64(x[i]); break;
      case Fn::log1p: y[i] = log1p_f64(x[i]); break;
      case Fn::exp: y[i] = exp_f64(x[i]); break;
      case Fn::sincospi: sincospi_f64(x[i], &y[i], &y2[i]); break;
    }
  }
}

// The same on the host.
template <class T>
void host_math(Fn fn, const std::vector<T>& x, std::vector<T>& y, std::vector<T>& y2) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if constexpr (sizeof(T) == 4) {
      switch (fn) {
        case Fn::log: y[i] = log_f32(x[i]); break;
        case Fn::log1p: y[i] = log1p_f32(x[i]); break;
        case Fn::exp: y[i] = exp_f32(x[i]); break;
        case Fn::sincospi: sincospi_f32(x[i], &y[i], &y2[i]); break;
      }
    } else {
      switch (fn) {
        case Fn::log: y[i] = log_f64(x[i]); break;
        case Fn::log1p: y[i] = log1p_f64(x[i]); break;
        case Fn::exp: y[i] = exp_f64(x[i]); break;
        case Fn::sincospi: sincospi_f64(x[i], &y[i], &y2[i]); break;
      }
    }
  }
}

bool has_gpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

// About a million inputs: random bits (every exponent, subnormals, infinities, NaNs), rb's
// uniforms in [0, 1) and their negatives, exp's range, a few periods of sincospi, special values.
template <class T>
std::vector<T> inputs() {
  std::vector<T> x;
  std::mt19937_64 source(20261127);
  const int n = 1 << 20;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t w = source();
    const double u = static_cast<double>(w >> 11) * 0x1p-53;
    switch (i % 5) {
      case 0:
        if constexpr (sizeof(T) == 4) x.push_back(float_from_bits(static_cast<std::uint32_t>(w)));
        else x.push_back(double_from_bits(w));
        break;
      case 1: x.push_back(static_cast<T>(u)); break;
      case 2: x.push_back(-static_cast<T>(u)); break;
      case 3: x.push_back(static_cast<T>((u - 0.5) * 1600)); break;
      default: x.push_back(static_cast<T>((u - 0.5) * 8)); break;
    }
  }
  const T specials[] = {T(0), -T(0), T(1), -T(1), T(0.5), T(1.5), -T(1.5), T(2), T(0.25), T(-0.75),
                        T(88.5), T(-103.5), T(709.5), T(-745.5), T(1) / T(3)};
  x.insert(x.end(), std::begin(specials), std::end(specials));
  return x;
}

const char* name(Fn fn) {
  switch (fn) {
    case Fn::log: return "log";
    case Fn::log1p: return "log1p";
    case Fn::exp: return "exp";
    default: return "sincospi";
  }
}

template <class T>
void expect_same_bits_on_gpu(Fn fn) {
  const auto x = inputs<T>();
  const int n = static_cast<int>(x.size());
  std::vector<T> want(n), want2(n), got(n), got2(n);
  host_math(fn, x, want, want2);
  T *d_x = nullptr, *d_y = nullptr, *d_y2 = nullptr;
  ASSERT_EQ(cudaMalloc(&d_x, n * sizeof(T)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_y, n * sizeof(T)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_y2, n * sizeof(T)), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(d_x, x.data(), n * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  cudaMemset(d_y, 0xab, n * sizeof(T));  // poison: every output must be written
  cudaMemset(d_y2, 0xab, n * sizeof(T));
  math_kernel<T><<<(n + 255) / 256, 256>>>(fn, d_x, d_y, d_y2, n);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(got.data(), d_y, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(got2.data(), d_y2, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(d_x);
  cudaFree(d_y);
  cudaFree(d_y2);
  int mismatches = 0;
  for (int i = 0; i < n; ++i) {
    const bool second = fn == Fn::sincospi;
    if (bits_of(got[i]) == bits_of(want[i]) && (!second || bits_of(got2[i]) == bits_of(want2[i]))) {
      continue;
    }
    if (++mismatches <= 5) {
      ADD_FAILURE() << name(fn) << (sizeof(T) == 4 ? "_f32" : "_f64") << " at x = " << std::hexfloat
                    << x[i] << ": GPU " << got[i] << (second ? " / " : "")
                    << (second ? got2[i] : T(0)) << ", host " << want[i]
                    << (second ? " / " : "") << (second ? want2[i] : T(0));
    }
  }
  EXPECT_EQ(mismatches, 0) << name(fn) << ": " << mismatches << " of " << n << " inputs differ";
}

TEST(PortableMathCuda, FloatFunctionsGiveTheHostBitsInAKernel) {
  if (!has_gpu()) GTEST_SKIP() << "no CUDA device here: the portable math was not run in a kernel";
  for (Fn fn : {Fn::log, Fn::log1p, Fn::exp, Fn::sincospi}) expect_same_bits_on_gpu<float>(fn);
}

TEST(PortableMathCuda, DoubleFunctionsGiveTheHostBitsInAKernel) {
  if (!has_gpu()) GTEST_SKIP() << "no CUDA device here: the portable math was not run in a kernel";
  for (Fn fn : {Fn::log, Fn::log1p, Fn::exp, Fn::sincospi}) expect_same_bits_on_gpu<double>(fn);
}

}  // namespace
}  // namespace rb::detail
