// The CPU kernels of rb's generator, written once and compiled once per instruction set
// (fill_scalar.cpp, fill_avx2.cpp, fill_avx512.cpp). See Note [CPU instruction sets].
//
// Include after defining RB_ISA (scalar, avx2 or avx512): it defines fill_range_<RB_ISA> and
// philox_words_<RB_ISA>. The Philox rounds are integer intrinsics (philox_batch.hpp: exact, so
// the bits do not depend on them); every floating-point loop is plain C++ that GCC vectorizes,
// without intrinsics, so every instruction set computes the same IEEE operations in the same
// order and gives the same bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../samplers.hpp"
#include "philox_batch.hpp"

namespace rb::detail {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the CPU kernels read word pairs as 64-bit loads");

/// join64(w[0], w[1]) as one 64-bit load (GCC does not always see that the shift and or of two
/// adjacent little-endian words is one).
RB_FORCE_INLINE std::uint64_t word64_at(const std::uint32_t* w) {
  std::uint64_t x;
  std::memcpy(&x, w, sizeof x);
  return x;
}

/// Counters per batch: 256 Philox outputs (4 KiB of words) stay in L1, and 256 is a multiple of
/// the counters philox_counters computes at once (16 with AVX2 and AVX-512, 64 in the baseline
/// build). Measured: 64 left a tenth of the uniform fills' time in per-batch overhead.
constexpr int kBatch = 256;

// The CPU loops: each walks the counters [first, last) in batches of kBatch and applies a functor
// of src/samplers.hpp to every element of those counters that lies below n.
struct CpuLoops {
  const FillRequest& r;
  std::uint64_t first, last;
  PhiloxKeys keys{r.stream};

  // 32-bit elements: element e takes word e mod 4 of counter e / 4.
  template <class T, class F>
  void map32(F f) {
    T* out = static_cast<T*>(r.out);
    alignas(64) std::uint32_t words[4 * kBatch];
    for (std::uint64_t c = first; c < last; c += kBatch) {
      philox_counters(keys, c, std::min<std::uint64_t>(kBatch, last - c), words);
      const std::int64_t e0 = static_cast<std::int64_t>(4 * c);
      const std::int64_t count = end(c, 4) - e0;
      T* o = out + e0;
      for (std::int64_t i = 0; i < count; ++i) o[i] = f(words[i], e0 + i);
    }
  }

  // 64-bit elements: element e takes words 2(e mod 2), 2(e mod 2) + 1 of counter e / 2.
  template <class T, class F>
  void map64(F f) {
    T* out = static_cast<T*>(r.out);
    alignas(64) std::uint32_t words[4 * kBatch];
    for (std::uint64_t c = first; c < last; c += kBatch) {
      philox_counters(keys, c, std::min<std::uint64_t>(kBatch, last - c), words);
      const std::int64_t e0 = static_cast<std::int64_t>(2 * c);
      const std::int64_t count = end(c, 2) - e0;
      T* o = out + e0;
      for (std::int64_t i = 0; i < count; ++i) {
        o[i] = static_cast<T>(f(word64_at(words + 2 * i), e0 + i));
      }
    }
  }

  // Pairs of 32-bit elements (2j, 2j + 1), which share a counter.
  template <class T, class F>
  void pairs32(F f) {
    T* out = static_cast<T*>(r.out);
    alignas(64) std::uint32_t words[4 * kBatch];
    alignas(64) float values[4 * kBatch];
    for (std::uint64_t c = first; c < last; c += kBatch) {
      philox_counters(keys, c, std::min<std::uint64_t>(kBatch, last - c), words);
      const std::int64_t e0 = static_cast<std::int64_t>(4 * c);
      const std::int64_t count = end(c, 4) - e0;
      T* o = out + e0;
      if constexpr (std::is_same_v<T, float>) {
        if (count % 2 == 0) {  // whole pairs of float elements: straight to the output
          for (std::int64_t j = 0; j < count / 2; ++j) {
            f(words[2 * j], words[2 * j + 1], &o[2 * j], &o[2 * j + 1]);
          }
          continue;
        }
      }
      for (std::int64_t j = 0; j < (count + 1) / 2; ++j) {
        f(words[2 * j], words[2 * j + 1], &values[2 * j], &values[2 * j + 1]);
      }
      for (std::int64_t i = 0; i < count; ++i) o[i] = static_cast<T>(values[i]);
    }
  }

  // Pairs of 64-bit elements (2j, 2j + 1), which share a counter.
  template <class T, class F>
  void pairs64(F f) {
    T* out = static_cast<T*>(r.out);
    alignas(64) std::uint32_t words[4 * kBatch];
    alignas(64) double values[2 * kBatch];
    for (std::uint64_t c = first; c < last; c += kBatch) {
      philox_counters(keys, c, std::min<std::uint64_t>(kBatch, last - c), words);
      const std::int64_t e0 = static_cast<std::int64_t>(2 * c);
      const std::int64_t count = end(c, 2) - e0;
      T* o = out + e0;
      if constexpr (std::is_same_v<T, double>) {
        if (count % 2 == 0) {  // whole pairs of double elements: straight to the output
          for (std::int64_t j = 0; j < count / 2; ++j) {
            f(word64_at(words + 4 * j), word64_at(words + 4 * j + 2), &o[2 * j], &o[2 * j + 1]);
          }
          continue;
        }
      }
      for (std::int64_t j = 0; j < (count + 1) / 2; ++j) {
        f(word64_at(words + 4 * j), word64_at(words + 4 * j + 2), &values[2 * j], &values[2 * j + 1]);
      }
      for (std::int64_t i = 0; i < count; ++i) o[i] = static_cast<T>(values[i]);
    }
  }

  // One past the last element of the batch at counter c, with `per` elements per counter.
  std::int64_t end(std::uint64_t c, std::uint64_t per) const {
    return static_cast<std::int64_t>(
        std::min(static_cast<std::uint64_t>(r.n), per * std::min(last, c + kBatch)));
  }
};

}  // namespace

#define RB_CONCAT_(a, b) a##b
#define RB_CONCAT(a, b) RB_CONCAT_(a, b)

void RB_CONCAT(fill_range_, RB_ISA)(const FillRequest& r, std::uint64_t first, std::uint64_t last) {
  CpuLoops loops{r, first, last};
  dispatch_fill(r, loops);
}

void RB_CONCAT(philox_words_, RB_ISA)(const Stream& s, std::uint64_t first, std::uint64_t counters,
                                      std::uint32_t* out) {
  philox_counters(PhiloxKeys(s), first, counters, out);
}

}  // namespace rb::detail
