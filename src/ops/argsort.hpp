// The stable argsort of 64-bit keys behind rb's CPU randperm (Note [randperm by sorting keys]):
// one cache-friendly radix pass on the top bits, then each bucket sorted in cache. Private to
// rb::torch; src/ops/randperm.cpp instantiates it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../cpu/sort.hpp"
#include "../parallel.hpp"


namespace rb::detail {

// Note [randperm's radix sort]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The order wanted is that of the pairs (x_i, i), with x_i the key as an unsigned 64-bit integer
// (the signed key with its sign bit flipped, which orders alike). Each element becomes one word:
// the top 64 - b bits of x_i, then i in the low b = ceil(log2 n) bits; words are distinct, and
// their order is the pairs' order except among words whose top 64 - b key bits agree (probability
// about n^2 / 2^(65 - b) for random keys), which compare their full keys.
//  1. One pass makes the words and counts their top d1 <= 8 bits per chunk of elements (in
//     parallel), and one pass scatters them into 2^d1 buckets, stably (256 write streams stay in
//     L1; 2048 were measured 2x slower).
//  2. Each bucket (about n / 2^d1 words, in cache) is ordered by a counting sort on its next d2
//     bits (about one value per word), which leaves it almost sorted: only words that share those
//     bits can be out of order. finish_run (src/cpu/sort_kernels.hpp, vectorized per instruction
//     set) finishes it with a few rounds of odd-even transposition and an insertion pass that
//     visits only the words still out of order, and writes the indices straight to the output;
//     then the rare words whose top key bits agree are ordered by full keys. Buckets are
//     independent: threads share them.
//  Inputs of at most 2^16 words skip step 1: they are one bucket (the counting table fits in L2).
// The result is the stable sort's whatever the number of threads.

/// ceil(log2 n), at least 1: the index bits of a word.
inline int index_bits(std::int64_t n) {
  int b = 1;
  while ((std::int64_t{1} << b) < n) ++b;
  return b;
}

/// Sorts one run a[0, size) of distinct words whose bits above bit `sorted_from` are all equal
/// (the first pass ordered them), writing their indices in order to `out`: counting_sort on the
/// next d2 bits (about one value per word), which leaves the run almost sorted, then finish_run,
/// then the rare words whose top key bits agree ordered by full keys (`less`). Its tables are the
/// calling thread's, kept for its next call (fresh pages would cost as much as the sort): 2^16 + 1
/// counts and up to kKeptRunWords words (a larger run's are freed).
constexpr std::size_t kKeptRunWords = std::size_t{1} << 20;  // 8 MiB

template <class Less>
void sort_run(std::uint64_t* a, std::int64_t size, int sorted_from, int b, Less less, std::int64_t* out) {
  thread_local std::vector<std::uint64_t> temp;
  thread_local std::vector<std::uint32_t> next;
  const std::uint64_t index_mask = (std::uint64_t{1} << b) - 1;
  int d2 = 0;
  while ((std::int64_t{1} << d2) < size && d2 < 16) ++d2;  // about a value per word
  d2 = std::min(d2, sorted_from - b);                       // never an index bit
  if (d2 > 0) {
    temp.resize(static_cast<std::size_t>(size));
    next.resize((std::size_t{1} << d2) + 1);
    counting_sort(a, size, sorted_from - d2, d2, next.data(), temp.data());
    a = temp.data();
  }
  // Sorted, the indices in order, and whether two words have the same top key bits (adjacent now).
  const bool tied_tops = finish_run(a, size, index_mask, out);
  if (tied_tops) {  // order each run of equal top key bits by full keys, then index
    for (std::int64_t i = 0; i < size;) {
      std::int64_t j = i + 1;
      while (j < size && ((a[j] ^ a[i]) & ~index_mask) == 0) ++j;
      if (j - i > 1) {
        std::sort(a + i, a + j, less);
        for (std::int64_t k = i; k < j; ++k) out[k] = static_cast<std::int64_t>(a[k] & index_mask);
      }
      i = j;
    }
  }
  if (temp.capacity() > kKeptRunWords) std::vector<std::uint64_t>().swap(temp);
}

/// Inputs up to this size are sorted as one run (step 2 alone): their counting table fits in L2,
/// and the first pass would cost more than it saves.
constexpr std::int64_t kOneRun = std::int64_t{1} << 16;

/// Sorts `n` elements, writing their indices in order to `out`: make_words(first, last, w) writes
/// the words of elements [first, last) (see the Note; b = index_bits(n)) to w, full_key(i) is
/// element i's key as unsigned. `words` and `sorted` hold n words each (`words` may be `out`;
/// allocated by the caller before it draws: Note [Check, allocate, then claim]; the small tables
/// here are its own).
template <class MakeWords, class FullKey>
void radix_argsort(std::int64_t n, MakeWords make_words, FullKey full_key, std::uint64_t* words,
                   std::uint64_t* sorted, std::int64_t* out) {
  if (n <= 0) return;
  const int b = index_bits(n);
  const std::uint64_t index_mask = (std::uint64_t{1} << b) - 1;
  auto less = [&](std::uint64_t a, std::uint64_t b_word) {  // words whose top key bits agree
    if ((a & ~index_mask) != (b_word & ~index_mask)) return a < b_word;
    const std::uint64_t ka = full_key(static_cast<std::int64_t>(a & index_mask));
    const std::uint64_t kb = full_key(static_cast<std::int64_t>(b_word & index_mask));
    return ka != kb ? ka < kb : a < b_word;  // then by index
  };
  if (n <= kOneRun) {  // small: the whole input is one run, without the first pass
    make_words(0, n, words);
    sort_run(words, n, 64, b, less, out);
    return;
  }
  const int d1 = std::min(8, std::max(1, b - 7));  // 256 write streams at most: L1 holds them
  const int shift1 = 64 - d1;
  const std::size_t buckets = std::size_t{1} << d1;

  // 1. Words and per-chunk counts of the top d1 bits, then the stable scatter.
  const std::int64_t chunk = std::max<std::int64_t>(1 << 15, (n + 63) / 64);
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  std::vector<std::int64_t> counts(static_cast<std::size_t>(chunks) * buckets, 0);
  cpu_parallel_for(0, chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const std::int64_t first = c * chunk, last = std::min(n, first + chunk);
      make_words(first, last, words + first);
      std::int64_t* count = counts.data() + c * buckets;
      for (std::int64_t i = first; i < last; ++i) ++count[words[i] >> shift1];
    }
  });
  std::vector<std::int64_t> bucket_start(buckets + 1, 0);
  std::int64_t running = 0;
  for (std::size_t d = 0; d < buckets; ++d) {
    bucket_start[d] = running;
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t k = counts[c * buckets + d];
      counts[c * buckets + d] = running;  // where chunk c's words of digit d go
      running += k;
    }
  }
  bucket_start[buckets] = n;
  cpu_parallel_for(0, chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const std::int64_t first = c * chunk, last = std::min(n, first + chunk);
      std::int64_t* next = counts.data() + c * buckets;
      for (std::int64_t i = first; i < last; ++i) sorted[next[words[i] >> shift1]++] = words[i];
    }
  });

  // 2. Each bucket in cache: sort_run.
  cpu_parallel_for(0, static_cast<std::int64_t>(buckets), 1, [&](std::int64_t g0, std::int64_t g1) {
    for (std::int64_t g = g0; g < g1; ++g) {
      const std::int64_t first = bucket_start[g], size = bucket_start[g + 1] - first;
      if (size > 0) sort_run(sorted + first, size, shift1, b, less, out + first);
    }
  });
}

}  // namespace rb::detail
