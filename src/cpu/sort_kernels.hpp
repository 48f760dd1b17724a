// The last step of randperm's radix sort (Note [randperm's radix sort] in src/ops/argsort.hpp),
// written once and compiled once per instruction set beside fill_kernels.hpp (fill_scalar.cpp,
// fill_avx2.cpp, fill_avx512.cpp): plain C++ loops that GCC vectorizes. Integers only, and the
// sorted order of distinct words is unique, so every build gives the same result.
//
// Include after defining RB_ISA: it defines finish_run_<RB_ISA>.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace rb::detail {
namespace {

/// Rounds of odd-even transposition before the insertion pass. After the counting sort a run is
/// sorted but for groups of words that share their counted bits (about one word per value, so
/// groups are small: a group of k words is sorted by k rounds); four rounds leave so few words
/// out of order that the insertion pass almost never moves one. Measured (4096 words, Zen 5):
/// 0, 2, 3, 4, 5 rounds: the finish costs 1.33, 0.75, 0.45, 0.37, 0.39 ns a word with AVX-512.
constexpr int kTranspositionRounds = 4;

/// One round of odd-even transposition: orders each pair (a[p + 2j], a[p + 2j + 1]).
inline void transposition_round(std::uint64_t* __restrict a, std::int64_t size, int p) {
  std::uint64_t* q = a + p;
  const std::int64_t pairs = (size - p) / 2;
  for (std::int64_t j = 0; j < pairs; ++j) {
    const std::uint64_t x = q[2 * j], y = q[2 * j + 1];
    q[2 * j] = x < y ? x : y;
    q[2 * j + 1] = x < y ? y : x;
  }
}

/// The descents among a[0, width), width <= 64, as a bit mask: bit i is set iff a[i] < a[i - 1]
/// (a[-1] must exist). The comparisons vectorize into bytes; a multiplication gathers each eight
/// 0/1 bytes into eight bits (byte j lands on bit 56 + j, and no two partial products overlap).
inline std::uint64_t descents(const std::uint64_t* a, int width) {
  alignas(64) std::uint8_t below[64] = {};
  for (int i = 0; i < width; ++i) below[i] = a[i] < a[i - 1];
  std::uint64_t mask = 0;
  for (int j = 0; j < 8; ++j) {
    std::uint64_t bytes;
    std::memcpy(&bytes, below + 8 * j, sizeof bytes);
    mask |= ((bytes * 0x0102040810204080ull) >> 56) << (8 * j);
  }
  return mask;
}

/// Sorts a[0, size), distinct words with few out of order (and those by a short distance), by
/// insertion; only the words out of order are visited, found 64 at a time by descents(). An
/// insertion at k can leave a[k + 1] below the new a[k]; that bit is then set too.
inline void insertion_fix(std::uint64_t* a, std::int64_t size) {
  for (std::int64_t block = 1; block < size; block += 64) {
    const int width = static_cast<int>(std::min<std::int64_t>(64, size - block));
    std::uint64_t out_of_order = descents(a + block, width);
    while (out_of_order != 0) {
      const int i = __builtin_ctzll(out_of_order);
      out_of_order &= out_of_order - 1;
      const std::int64_t k = block + i;
      const std::uint64_t moving = a[k];
      std::int64_t m = k;
      do {
        a[m] = a[m - 1];
        --m;
      } while (m > 0 && moving < a[m - 1]);
      a[m] = moving;
      if (i + 1 < width && a[k + 1] < a[k]) out_of_order |= std::uint64_t{2} << i;
    }
  }
}

}  // namespace

#ifndef RB_CONCAT
#define RB_CONCAT_(a, b) a##b
#define RB_CONCAT(a, b) RB_CONCAT_(a, b)
#endif

bool RB_CONCAT(finish_run_, RB_ISA)(std::uint64_t* a, std::int64_t size, std::uint64_t index_mask,
                                    std::int64_t* out) {
  if (size <= 0) return false;
  for (int round = 0; round < kTranspositionRounds; ++round) transposition_round(a, size, round % 2);
  insertion_fix(a, size);
  std::uint64_t tied = 0;  // an integer, not a bool: the loop vectorizes
  out[0] = static_cast<std::int64_t>(a[0] & index_mask);
  for (std::int64_t k = 1; k < size; ++k) {
    out[k] = static_cast<std::int64_t>(a[k] & index_mask);
    tied |= static_cast<std::uint64_t>(((a[k] ^ a[k - 1]) & ~index_mask) == 0);
  }
  return tied != 0;
}

}  // namespace rb::detail
