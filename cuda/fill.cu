// The CUDA kernels of rb's generator: one thread per Philox output, the element functors of
// src/samplers.hpp, so that element i is the same bits as on the CPU.
#include <cstdint>

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include "../src/samplers.hpp"

namespace rb::detail {
namespace {

constexpr int kThreads = 256;

/// Up to 4 elements of T, stored with one instruction when the address allows.
template <class T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// Each thread takes Philox outputs c = tid, tid + stride, ... and writes the elements of c:
// 4 of them (32-bit elements) or 2 (64-bit elements). See Note [Element mapping].
template <class T, class F>
__global__ void map32_kernel(T* out, std::int64_t n, Stream s, std::uint64_t counters, F f) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t c = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; c < counters;
       c += stride) {
    const Counter o = s.draw(c);
    const std::int64_t e = static_cast<std::int64_t>(4 * c);
    if (e + 4 <= n && reinterpret_cast<std::uintptr_t>(out + e) % sizeof(Pack<T, 4>) == 0) {
      Pack<T, 4> p;
#pragma unroll
      for (int w = 0; w < 4; ++w) p.v[w] = f(o.v[w], e + w);
      *reinterpret_cast<Pack<T, 4>*>(out + e) = p;
    } else {
      for (int w = 0; w < 4 && e + w < n; ++w) out[e + w] = f(o.v[w], e + w);
    }
  }
}

template <class T, class F>
__global__ void map64_kernel(T* out, std::int64_t n, Stream s, std::uint64_t counters, F f) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t c = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; c < counters;
       c += stride) {
    const Counter o = s.draw(c);
    const std::int64_t e = static_cast<std::int64_t>(2 * c);
    const T v0 = static_cast<T>(f(word64(o, 0), e));
    if (e + 1 < n) {
      const T v1 = static_cast<T>(f(word64(o, 1), e + 1));
      if (reinterpret_cast<std::uintptr_t>(out + e) % sizeof(Pack<T, 2>) == 0) {
        *reinterpret_cast<Pack<T, 2>*>(out + e) = Pack<T, 2>{{v0, v1}};
      } else {
        out[e] = v0;
        out[e + 1] = v1;
      }
    } else {
      out[e] = v0;
    }
  }
}

template <class T, class F>
__global__ void pairs32_kernel(T* out, std::int64_t n, Stream s, std::uint64_t counters, F f) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t c = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; c < counters;
       c += stride) {
    const Counter o = s.draw(c);
    const std::int64_t e = static_cast<std::int64_t>(4 * c);
    float v[4];
    f(o.v[0], o.v[1], &v[0], &v[1]);
    if (e + 2 < n) f(o.v[2], o.v[3], &v[2], &v[3]);
    if (e + 4 <= n && reinterpret_cast<std::uintptr_t>(out + e) % sizeof(Pack<T, 4>) == 0) {
      Pack<T, 4> p;
#pragma unroll
      for (int w = 0; w < 4; ++w) p.v[w] = static_cast<T>(v[w]);
      *reinterpret_cast<Pack<T, 4>*>(out + e) = p;
    } else {
      for (int w = 0; w < 4 && e + w < n; ++w) out[e + w] = static_cast<T>(v[w]);
    }
  }
}

template <class T, class F>
__global__ void pairs64_kernel(T* out, std::int64_t n, Stream s, std::uint64_t counters, F f) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t c = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; c < counters;
       c += stride) {
    const Counter o = s.draw(c);
    const std::int64_t e = static_cast<std::int64_t>(2 * c);
    double v0, v1;
    f(word64(o, 0), word64(o, 1), &v0, &v1);
    out[e] = static_cast<T>(v0);
    if (e + 1 < n) out[e + 1] = static_cast<T>(v1);
  }
}

/// The launch loops for src/samplers.hpp's dispatch: a grid-stride launch over the request's
/// Philox outputs on the current stream.
struct CudaLoops {
  const FillRequest& r;
  std::uint64_t counters;
  unsigned blocks;

  template <class T, class F, class Kernel>
  void launch(Kernel kernel, F f) {
    kernel<<<blocks, kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(static_cast<T*>(r.out), r.n, r.stream,
                                                                      counters, f);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  template <class T, class F>
  void map32(F f) { launch<T>(map32_kernel<T, F>, f); }
  template <class T, class F>
  void map64(F f) { launch<T>(map64_kernel<T, F>, f); }
  template <class T, class F>
  void pairs32(F f) { launch<T>(pairs32_kernel<T, F>, f); }
  template <class T, class F>
  void pairs64(F f) { launch<T>(pairs64_kernel<T, F>, f); }
};

}  // namespace

bool cuda_kernels_built() { return true; }

void fill_cuda(const FillRequest& request) {
  const std::uint64_t counters = counters_for(request.n, request.wide);
  if (counters == 0) return;
  // Enough resident blocks to fill the GPU (8 per SM), each thread looping over the rest.
  const std::uint64_t max_blocks =
      static_cast<std::uint64_t>(at::cuda::getCurrentDeviceProperties()->multiProcessorCount) * 8;
  const std::uint64_t needed = (counters + kThreads - 1) / kThreads;
  CudaLoops loops{request, counters, static_cast<unsigned>(needed < max_blocks ? needed : max_blocks)};
  dispatch_fill(request, loops);
}

}  // namespace rb::detail
