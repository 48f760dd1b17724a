// The loops of randperm's radix sort (src/cpu/sort_kernels.hpp, Note [randperm's radix sort] in
// src/ops/argsort.hpp), vectorized with the chosen instruction set (Note [CPU instruction sets]),
// on the calling thread. Private to rb::torch.
#pragma once

#include <cstdint>

#include "../fill.hpp"

namespace rb::detail {

/// The words of randperm's elements [first, last) (first even): element i's 64-bit key from `s`
/// (words 2(i mod 2), 2(i mod 2) + 1 of output i / 2, as in a 64-bit fill) with its bits under
/// `index_mask` replaced by i.
void randperm_words(const Stream& s, std::int64_t first, std::int64_t last, std::uint64_t index_mask,
                    std::uint64_t* w);

/// Copies a[0, size) to `to`, stably ordered by the `bits` bits from bit `shift` of each word;
/// `table` holds 2^bits + 1 counts.
void counting_sort(const std::uint64_t* a, std::int64_t size, int shift, int bits, std::uint32_t* table,
                   std::uint64_t* to);

/// Sorts a[0, size), distinct words almost in order (a counting sort's result), writes each
/// word's bits under `index_mask` in order to out[0, size) (which overlaps `a` only if size is 1),
/// and returns whether two words agree in every bit above them.
bool finish_run(std::uint64_t* a, std::int64_t size, std::uint64_t index_mask, std::int64_t* out);

#define RB_SORT_KERNELS(isa)                                                                          \
  void randperm_words_##isa(const Stream& s, std::int64_t first, std::int64_t last,                   \
                            std::uint64_t index_mask, std::uint64_t* w);                              \
  void counting_sort_##isa(const std::uint64_t* a, std::int64_t size, int shift, int bits,            \
                           std::uint32_t* table, std::uint64_t* to);                                  \
  bool finish_run_##isa(std::uint64_t* a, std::int64_t size, std::uint64_t index_mask, std::int64_t* out);
RB_SORT_KERNELS(scalar)
RB_SORT_KERNELS(avx2)
RB_SORT_KERNELS(avx512)
#undef RB_SORT_KERNELS

}  // namespace rb::detail
