// A custom CUDA kernel that draws from the current block: a dropout mask made with rb::Stream and
// rb::bernoulli (examples/dropout_kernel.cpp reserves the stream and checks the mask). This file
// includes rb's header-only core and CUDA only, no torch header: nvcc compiles it in seconds.
#include <cstdint>

#include <cuda_runtime.h>

#include "rb/core.hpp"
#include "rb/sampling.hpp"

// Element i takes word i % 4 of Philox output i / 4: rb's mapping of 32-bit elements (Note
// [Element mapping]), so this kernel draws what rb's generator would.
__global__ void dropout_kernel(rb::Stream stream, const float* in, float* out, bool* mask,
                               std::int64_t n, double keep, float scale) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const std::uint32_t word = stream.draw(static_cast<std::uint64_t>(i / 4)).v[i % 4];
  const bool kept = rb::bernoulli(word, keep);
  mask[i] = kept;
  out[i] = kept ? in[i] * scale : 0.0f;
}

/// Launches dropout_kernel on `cuda_stream` over n elements; returns the launch's error.
cudaError_t launch_dropout(const rb::Stream& stream, const float* in, float* out, bool* mask,
                           std::int64_t n, double keep, float scale, cudaStream_t cuda_stream) {
  const int threads = 256;
  dropout_kernel<<<static_cast<unsigned>((n + threads - 1) / threads), threads, 0, cuda_stream>>>(
      stream, in, out, mask, n, keep, scale);
  return cudaGetLastError();
}
