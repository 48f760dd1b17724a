// rb's randperm: the stable argsort of drawn 64-bit keys, the same permutation on every device.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Operators.h>
#include <ATen/native/Resize.h>
#include <torch/library.h>

#include "../ops.hpp"
#include "common.hpp"

namespace rb::detail {

// Note [randperm by sorting keys]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// randperm(n) draws n 64-bit keys (64-bit elements, so the call advances ceil(n / 2)) and returns
// the indices that sort them, as signed 64-bit integers, ascending, ties broken by index (a stable
// sort). Every device sorts the same keys into the same order, so the permutation is identical on
// the CPU and on any GPU; two keys tie with probability about n^2 / 2^65.

void argsort_keys(const std::int64_t* keys, std::int64_t n, std::int64_t* out) {
  if (n <= 0) return;
  // Each key becomes one 64-bit word: its top 64 - b bits (as unsigned after flipping the sign
  // bit, which orders like signed), then its index in the low b = ceil(log2 n) bits. Sorting the
  // words sorts by key, ties by index. A stable LSD radix sort on the top bits that matter (about
  // log2 n of them, in passes of at most 11 bits: 2048 cache-friendly streams) orders them; the
  // few runs whose top bits agree (two keys share their top 64 - b bits with probability about
  // n^2 / 2^(65 - b)) are finished by an insertion sort on the full keys.
  int b = 1;
  while ((std::int64_t{1} << b) < n) ++b;
  const std::uint64_t index_mask = (std::uint64_t{1} << b) - 1;
  auto top = [](std::int64_t key) {
    return static_cast<std::uint64_t>(key) ^ (std::uint64_t{1} << 63);
  };
  std::uint64_t* a = reinterpret_cast<std::uint64_t*>(out);  // the output buffer holds the words
  for (std::int64_t i = 0; i < n; ++i)
    a[i] = (top(keys[i]) & ~index_mask) | static_cast<std::uint64_t>(i);
  std::vector<std::uint64_t> scratch(static_cast<std::size_t>(n));
  std::uint64_t* from = a;
  std::uint64_t* to = scratch.data();
  constexpr int kRadix = 11;
  // The top bits that almost surely tell keys apart, and never an index bit: past n = 2^20 the
  // word has fewer than 2b + 2 key bits, and then all of them are sorted.
  const int sorted_bits = std::min(64 - b, 2 * b + 2);
  for (int low = 64 - sorted_bits; low < 64; low += kRadix) {
    const int width = std::min(kRadix, 64 - low);
    const std::uint64_t mask = (std::uint64_t{1} << width) - 1;
    std::vector<std::int64_t> next((std::size_t{1} << width) + 1, 0);
    for (std::int64_t i = 0; i < n; ++i) ++next[((from[i] >> low) & mask) + 1];
    for (std::size_t d = 1; d < next.size(); ++d) next[d] += next[d - 1];
    for (std::int64_t i = 0; i < n; ++i) to[next[(from[i] >> low) & mask]++] = from[i];  // stable
    std::swap(from, to);
  }
  // Finish: insertion sort by (full key, index) inside the rare runs whose sorted top bits agree;
  // across different top bits the radix order is final.
  const int cut = 64 - sorted_bits;
  for (std::int64_t i = 1; i < n; ++i) {
    const std::uint64_t moving = from[i];
    if ((from[i - 1] >> cut) != (moving >> cut)) continue;
    const std::int64_t key = keys[moving & index_mask];
    std::int64_t j = i;
    for (; j > 0 && (from[j - 1] >> cut) == (moving >> cut); --j) {
      const std::uint64_t prev = from[j - 1];
      const std::int64_t prev_key = keys[prev & index_mask];
      if (prev_key < key || (prev_key == key && (prev & index_mask) < (moving & index_mask))) break;
      from[j] = prev;
    }
    from[j] = moving;
  }
  for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<std::int64_t>(from[i] & index_mask);
}

}  // namespace rb::detail

namespace rb::detail::ops {
namespace {

/// Refuses, as torch does, a dtype that cannot hold randperm(n): bool, an integer type whose
/// maximum is below n - 1, and float16, float32 and float64 beyond n = 2^digits + 1 (the last n
/// whose indices they hold exactly; torch checks nothing for bfloat16).
void check_randperm_dtype(std::int64_t n, at::ScalarType t) {
  TORCH_CHECK(t != at::kBool, "rb: randperm does not fill bool tensors (neither does torch)");
  const auto exact_up_to = [](int digits) { return (std::int64_t{1} << digits) + 1; };
  switch (t) {
    case at::kHalf:
      TORCH_CHECK(n <= exact_up_to(11),
                  "rb: randperm: n cannot be greater than 2049 for Half type, got n=", n);
      break;
    case at::kFloat:
      TORCH_CHECK(n <= exact_up_to(24),
                  "rb: randperm: n cannot be greater than 2^24+1 for Float type, got n=", n);
      break;
    case at::kDouble:
      TORCH_CHECK(n <= exact_up_to(53),
                  "rb: randperm: n cannot be greater than 2^53+1 for Double type, got n=", n);
      break;
    case at::kBFloat16:
      break;
    default:
      TORCH_CHECK(n - 1 <= integer_max(t), "rb: randperm: n=", n, " is too large for dtype ", t);
  }
}

Tensor& randperm_out(c10::DispatchKeySet ks, c10::SymInt n_sym, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::supported))
    return at::_ops::randperm_generator_out::redispatch(below(ks), n_sym, gen, out);
  const std::int64_t n = n_sym.guard_int(__FILE__, __LINE__);
  TORCH_CHECK(n >= 0, "rb: randperm expects n >= 0, got n=", n);
  check_supported(out, "randperm");
  check_randperm_dtype(n, out.scalar_type());
  // Every check and allocation before drawing (Note [Check, allocate, then claim]).
  at::native::resize_output(out, {n});
  check_no_overlap(out);
  Tensor keys = at::empty({n}, out.options().dtype(at::kLong));
  Tensor order = keys.is_cpu() ? at::empty({n}, keys.options()) : Tensor();
  fill_random(keys, std::numeric_limits<std::int64_t>::min(), 0, gen, "randperm");
  if (keys.is_cpu()) {  // O(n) on the CPU; the same order as the stable sort that CUDA runs
    argsort_keys(keys.data_ptr<std::int64_t>(), n, order.data_ptr<std::int64_t>());
  } else {
    order = std::get<1>(keys.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  }
  return out.copy_(order);
}

}  // namespace
}  // namespace rb::detail::ops

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  m.impl("randperm.generator_out", TORCH_FN(rb::detail::ops::randperm_out));
}
