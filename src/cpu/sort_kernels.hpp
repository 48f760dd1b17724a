// The loops of randperm's radix sort (Note [randperm's radix sort] in src/ops/argsort.hpp),
// written once and compiled once per instruction set beside fill_kernels.hpp (fill_scalar.cpp,
// fill_avx2.cpp, fill_avx512.cpp): plain C++ that GCC vectorizes, and one scan in GCC's vector
// extensions. Integers only, and the sorted order of distinct words is unique, so every build
// gives the same result.
//
// Include after defining RB_ISA: it defines randperm_words_<RB_ISA>, counting_sort_<RB_ISA> and
// finish_run_<RB_ISA> (declared in src/cpu/sort.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fill_kernels.hpp"
#include "sort.hpp"

namespace rb::detail {
namespace {

/// t[i] = t[0] + ... + t[i] for i < size, in place. A scalar scan is a chain of additions, one a
/// cycle; vectors of 16 (AVX-512) or 8 (AVX2) sums take log2 shifted additions each and chain
/// only their carries (2^16 sums: 0.24 -> 0.10 ns each with AVX-512, 0.18 with AVX2). The
/// shuffles' masks are literals: computed ones are built at run time.
inline void running_sums(std::uint32_t* t, std::size_t size) {
  std::size_t i = 0;
  std::uint32_t run = 0;
#if defined(__AVX512F__)
  typedef std::uint32_t Lanes __attribute__((vector_size(64)));
  const Lanes zero = {};
  Lanes carry = {};
  for (; i + 16 <= size; i += 16) {  // shuffle(zero, v, m): lane l is m[l] < 16 ? 0 : v[m[l] - 16]
    Lanes v;
    std::memcpy(&v, t + i, sizeof v);
    v += __builtin_shuffle(zero, v, Lanes{0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30});
    v += __builtin_shuffle(zero, v, Lanes{0, 1, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29});
    v += __builtin_shuffle(zero, v, Lanes{0, 1, 2, 3, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27});
    v += __builtin_shuffle(zero, v, Lanes{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23});
    v += carry;
    carry = __builtin_shuffle(v, Lanes{15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15});
    std::memcpy(t + i, &v, sizeof v);
  }
  run = carry[0];
#elif defined(__AVX2__)
  typedef std::uint32_t Lanes __attribute__((vector_size(32)));
  const Lanes zero = {};
  Lanes carry = {};
  for (; i + 8 <= size; i += 8) {
    Lanes v;
    std::memcpy(&v, t + i, sizeof v);
    v += __builtin_shuffle(zero, v, Lanes{0, 8, 9, 10, 11, 12, 13, 14});
    v += __builtin_shuffle(zero, v, Lanes{0, 1, 8, 9, 10, 11, 12, 13});
    v += __builtin_shuffle(zero, v, Lanes{0, 1, 2, 3, 8, 9, 10, 11});
    v += carry;
    carry = __builtin_shuffle(v, Lanes{7, 7, 7, 7, 7, 7, 7, 7});
    std::memcpy(t + i, &v, sizeof v);
  }
  run = carry[0];
#endif
  for (; i < size; ++i) t[i] = run += t[i];
}

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

void RB_CONCAT(randperm_words_, RB_ISA)(const Stream& s, std::int64_t first, std::int64_t last,
                                        std::uint64_t index_mask, std::uint64_t* w) {
  const PhiloxKeys keys(s);
  alignas(64) std::uint32_t raw[4 * kBatch];  // 64-bit element k of the batch: raw[2k], raw[2k + 1]
  for (std::int64_t i = first; i < last;) {
    const std::int64_t count = std::min<std::int64_t>(kBatch, (last - i + 1) / 2);
    philox_counters(keys, static_cast<std::uint64_t>(i / 2), static_cast<std::uint64_t>(count), raw);
    const std::int64_t m = std::min(last - i, 2 * count);
    std::uint64_t* to = w + (i - first);
    for (std::int64_t k = 0; k < m; ++k)
      to[k] = (word64_at(raw + 2 * k) & ~index_mask) | static_cast<std::uint64_t>(i + k);
    i += m;
  }
}

void RB_CONCAT(counting_sort_, RB_ISA)(const std::uint64_t* a, std::int64_t size, int shift, int bits,
                                       std::uint32_t* table, std::uint64_t* to) {
  const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
  const std::size_t bins = std::size_t{1} << bits;
  std::fill(table, table + bins + 1, 0);
  for (std::int64_t i = 0; i < size; ++i) ++table[((a[i] >> shift) & mask) + 1];
  running_sums(table, bins + 1);  // table[v]: where the first word of value v goes
  for (std::int64_t i = 0; i < size; ++i) to[table[(a[i] >> shift) & mask]++] = a[i];
}

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
