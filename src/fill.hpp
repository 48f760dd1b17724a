// One fill of rb's generator, as the op layer (src/ops/) hands it to the CPU kernels
// (src/cpu/) and the CUDA kernels (cuda/fill.cu). Private to rb::torch; no torch headers beyond c10.
#pragma once

#include <cstdint>

#include <c10/core/ScalarType.h>

#include "rb/stream.hpp"

namespace rb::detail {

/// What a fill draws. Each sampler's formula is in rb/sampling.hpp; see Note [Element mapping].
enum class Sampler : std::uint8_t {
  uniform,           ///< [a, b)
  normal,            ///< mean a, standard deviation b
  log_normal,        ///< exp(normal(a, b))
  exponential,       ///< rate a
  cauchy,            ///< median a, scale b
  geometric,         ///< a = log1p(-p)
  bernoulli,         ///< probability a
  bernoulli_tensor,  ///< probability p[i] (float64, contiguous, one per element)
  random_range,      ///< integers in [from, from + range); range == 0 means 2^64
};

/// A contiguous output of n elements, filled from `stream` at the call's position.
struct FillRequest {
  Sampler sampler;
  c10::ScalarType dtype;
  void* out;
  std::int64_t n;
  Stream stream;
  bool wide;  ///< 64-bit elements: 2 per Philox output instead of 4
  double a = 0, b = 0;
  std::int64_t from = 0;
  std::uint64_t range = 0;
  const double* p = nullptr;
};

/// Philox outputs a request consumes: ceil(n / 4), or ceil(n / 2) for 64-bit elements.
inline std::uint64_t counters_for(std::int64_t n, bool wide) {
  const std::uint64_t per = wide ? 2 : 4;
  return (static_cast<std::uint64_t>(n) + per - 1) / per;
}

/// CPU code paths; each gives the same bits. See Note [CPU instruction sets] in src/cpu/dispatch.cpp.
enum class Isa : std::uint8_t { scalar, avx2, avx512 };

/// Fills a CPU request: vectorized with the chosen instruction set, in parallel (at::parallel_for).
void fill_cpu(const FillRequest& request);
/// Fills a CUDA request on the current stream of the output's device (cuda/fill.cu).
void fill_cuda(const FillRequest& request);
/// Whether rb was built with its CUDA kernels (RB_CUDA): fill_cuda exists.
bool cuda_kernels_built();

/// The instruction set fill_cpu uses: the best the CPU has, unless overridden (tests, benchmarks)
/// by set_cpu_isa or the environment variable RB_CPU_ISA=scalar|avx2|avx512.
Isa cpu_isa();
/// Overrides the instruction set (throws rb::Error if the CPU lacks it).
void set_cpu_isa(Isa isa);
/// Whether this CPU can run `isa`.
bool cpu_supports(Isa isa);
/// The name of `isa` as RB_CPU_ISA spells it: "scalar", "avx2" or "avx512".
const char* cpu_isa_name(Isa isa);

/// The raw words of `counters` consecutive outputs of `s` from position `first`, vectorized:
/// out[4j + w] is word w of s.draw(first + j). On the calling thread.
void philox_words(const Stream& s, std::uint64_t first, std::uint64_t counters, std::uint32_t* out);

// The per-instruction-set kernels: fill the elements of counters [first, last) of `request`;
// the raw words of philox_words.
void fill_range_scalar(const FillRequest& request, std::uint64_t first, std::uint64_t last);
void fill_range_avx2(const FillRequest& request, std::uint64_t first, std::uint64_t last);
void fill_range_avx512(const FillRequest& request, std::uint64_t first, std::uint64_t last);
void philox_words_scalar(const Stream& s, std::uint64_t first, std::uint64_t counters, std::uint32_t* out);
void philox_words_avx2(const Stream& s, std::uint64_t first, std::uint64_t counters, std::uint32_t* out);
void philox_words_avx512(const Stream& s, std::uint64_t first, std::uint64_t counters, std::uint32_t* out);

}  // namespace rb::detail
