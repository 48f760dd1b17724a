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
#include "argsort.hpp"
#include "rb/convert.hpp"
#include "common.hpp"

namespace rb::detail {

// Note [randperm by sorting keys]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// randperm(n) draws n 64-bit keys (64-bit elements, so the call advances ceil(n / 2)) and returns
// the indices that sort them, as signed 64-bit integers, ascending, ties broken by index (a stable
// sort). Every device sorts the same keys into the same order, so the permutation is identical on
// the CPU and on any GPU; two keys tie with probability about n^2 / 2^65. The CPU sorts them by
// Note [randperm's radix sort] (src/ops/argsort.hpp), CUDA by torch's stable sort.

void argsort_keys(const std::int64_t* keys, std::int64_t n, std::int64_t* out) {
  if (n <= 0) return;
  const std::uint64_t index_mask = (std::uint64_t{1} << index_bits(n)) - 1;
  auto full_key = [keys](std::int64_t i) {  // as unsigned: the sign bit flipped orders alike
    return static_cast<std::uint64_t>(keys[i]) ^ (std::uint64_t{1} << 63);
  };
  std::vector<std::uint64_t> words(static_cast<std::size_t>(n)), sorted(words.size());
  radix_argsort(
      n,
      [&](std::int64_t first, std::int64_t last, std::uint64_t* w) {
        for (std::int64_t i = first; i < last; ++i)
          w[i - first] = (full_key(i) & ~index_mask) | static_cast<std::uint64_t>(i);
      },
      full_key, words.data(), sorted.data(), out);
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

/// The CPU's randperm: the keys are never stored; the radix sort makes each word straight from
/// the Philox words of its key (element i of the n 64-bit elements randperm claims: key
/// -2^63 + x_i, so x_i is the key as unsigned, Note [randperm's radix sort]), and a rare tie of
/// top bits recomputes the two keys from the stream.
Tensor& randperm_cpu(std::int64_t n, const OptGen& gen, Tensor& out) {
  const bool direct = out.scalar_type() == at::kLong && out.is_contiguous();
  Tensor order = direct ? out : at::empty({n}, out.options().dtype(at::kLong));
  // The words; `order` holds them first.
  auto* sorted = static_cast<std::uint64_t*>(scratch(static_cast<std::size_t>(n) * 8));
  Fill fill(order, gen, "randperm");
  const Stream stream = fill.claim(/*wide=*/true);
  const std::uint64_t index_mask = (std::uint64_t{1} << index_bits(n)) - 1;
  auto make_words = [&](std::int64_t first, std::int64_t last, std::uint64_t* w) {
    randperm_words(stream, first, last, index_mask, w);  // first is even: a chunk starts on an output
  };
  auto full_key = [&](std::int64_t i) {
    return word64(stream.draw(static_cast<std::uint64_t>(i / 2)), static_cast<unsigned>(i % 2));
  };
  auto* words = reinterpret_cast<std::uint64_t*>(order.data_ptr<std::int64_t>());
  radix_argsort(n, make_words, full_key, words, sorted, order.data_ptr<std::int64_t>());
  return direct ? out : out.copy_(order);
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
  if (out.is_cpu()) return randperm_cpu(n, gen, out);
  Tensor keys = at::empty({n}, out.options().dtype(at::kLong));
  fill_random(keys, std::numeric_limits<std::int64_t>::min(), 0, gen, "randperm");
  return out.copy_(std::get<1>(keys.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false)));
}

}  // namespace
}  // namespace rb::detail::ops

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  m.impl("randperm.generator_out", TORCH_FN(rb::detail::ops::randperm_out));
}
