// rb's multinomial: with replacement by the inverse CDF, without by the exponential race.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Operators.h>
#include <ATen/native/Resize.h>
#include <c10/util/MaybeOwned.h>
#include <torch/library.h>

#include "../ops.hpp"
#include "../parallel.hpp"
#include "common.hpp"

namespace rb::detail::ops {
namespace {

// Note [multinomial]
// ~~~~~~~~~~~~~~~~~~
// Rows of probabilities p (1-D: one row) are taken in float64. With replacement, sample s of row
// r is element r S + s of a 64-bit stream: v = min(u total, nextafter(total, 0)) with u uniform
// and total the row's sum, and the sample is the first category whose cumulative sum exceeds v
// (the cumulative sum runs in order on the CPU, so it is the same for every device). Without
// replacement, category c of row r is element r C + c: its key is E / p_c with E = -log(u) an
// exponential (u an open uniform; key +inf when p_c = 0), and the S categories of smallest keys
// are drawn, in the order of their keys (a stable sort): the exponential race, exact in law. A row
// with fewer nonzero categories than samples draws the zero-probability ones last, by index.
// Both advance the stream by a fixed amount: ceil(R S / 2) or ceil(R C / 2) outputs.

// Note [multinomial on the CPU]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The CPU computes Note [multinomial] without torch's tensor ops, in as few passes over the
// probabilities as it can, reading them in their own dtype (each value as the double it converts
// to exactly): one pass checks every row and, with replacement, computes each row's cumulative sum
// in order (what cumsum computes, addition for addition), so that each sample is a binary search
// (searchsorted's right side); without replacement one pass over each row keeps the S smallest
// (key, index) pairs in a heap, since the first S of a stable sort are the S smallest pairs in
// order. The draws (the same stream elements) and so the results are the same bits as the tensor
// formulation the CUDA path runs (tests/multinomial_test.cpp compares them).

/// What check_rows finds in a row: nothing wrong, a value that is not finite and >= 0 (checked
/// first), or a sum of 0.
enum class RowCheck : std::uint8_t { ok, bad_value, zero_sum };

/// check_rows on kRows rows at once (their chains of additions are independent, so the CPU
/// overlaps them: one row's sum is bound by the latency of its additions), with their sums into
/// `cdf` if kSums; returns what it finds in the first of them that is wrong. (kSums a template
/// parameter: a test of cdf in the loop made one row's pass 50% slower.)
template <int kRows, bool kSums, class T>
RowCheck check_row_group(const T* p, std::int64_t categories, double* cdf) {
  // The checks as a maximum of the values' bits beside the sums' chain of dependent additions
  // (bools or-ed in the loop were kept in memory). For doubles >= 0 the bits order as the
  // values, and NaN and negative values (sign bit set) have bits above those of +inf.
  std::uint64_t max_bits[kRows] = {};
  double sum[kRows] = {};
  for (std::int64_t c = 0; c < categories; ++c) {
    for (int r = 0; r < kRows; ++r) {
      const double v = static_cast<double>(p[r * categories + c]);
      std::uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      max_bits[r] = std::max(max_bits[r], v == 0 ? 0 : bits);  // -0 is a 0
      if constexpr (kSums) cdf[r * categories + c] = sum[r] += v;
    }
  }
  constexpr std::uint64_t kInfBits = 0x7ff0000000000000ull;
  for (int r = 0; r < kRows; ++r) {
    if (max_bits[r] >= kInfBits) return RowCheck::bad_value;
    if (max_bits[r] == 0) return RowCheck::zero_sum;
  }
  return RowCheck::ok;
}

/// check_row_group, summing into `cdf` unless it is null (the choice made once, outside its loop).
template <int kRows, class T>
RowCheck check_rows_at_once(const T* p, std::int64_t categories, double* cdf) {
  return cdf == nullptr ? check_row_group<kRows, false>(p, categories, nullptr)
                        : check_row_group<kRows, true>(p, categories, cdf);
}

/// Checks every row of probabilities (finite, >= 0, not all 0), reading them as doubles; with
/// `cdf`, also writes each row's cumulative sum there, in order (what cumsum computes: the
/// check and the sums are one pass, and draw nothing). Groups of rows run on the threads; the
/// error raised is the first wrong row's, whatever the threads.
template <class T>
void check_rows(const T* p, std::int64_t rows, std::int64_t categories, double* cdf) {
  constexpr int kRows = 4;
  const std::int64_t groups = (rows + kRows - 1) / kRows;
  std::vector<RowCheck> found(static_cast<std::size_t>(groups), RowCheck::ok);
  cpu_parallel_for(0, groups, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t g = first; g < last; ++g) {
      const std::int64_t r0 = g * kRows;
      const T* row = p + r0 * categories;
      double* row_cdf = cdf == nullptr ? nullptr : cdf + r0 * categories;
      RowCheck& group = found[static_cast<std::size_t>(g)];
      if (rows - r0 >= kRows) {
        group = check_rows_at_once<kRows>(row, categories, row_cdf);
        continue;
      }
      for (std::int64_t r = 0; r < rows - r0 && group == RowCheck::ok; ++r) {
        group = check_rows_at_once<1>(row + r * categories, categories,
                                      row_cdf == nullptr ? nullptr : row_cdf + r * categories);
      }
    }
  });
  for (const RowCheck check : found) {
    TORCH_CHECK(check != RowCheck::bad_value, "rb: multinomial expects probabilities that are finite and >= 0");
    TORCH_CHECK(check != RowCheck::zero_sum, "rb: multinomial: a row of probabilities sums to 0");
  }
}

/// std::upper_bound(a, a + n, v) - a, n >= 1, for a non-decreasing `a` without NaN: the first j
/// with a[j] > v, or n. Without branches on the data: the search halves its range by a select,
/// not a jump that a random v mispredicts half the time; both possible next probes are
/// prefetched, since a large `a` is beyond L1.
inline std::int64_t upper_bound_index(const double* a, std::int64_t n, double v) {
  const double* base = a;
  while (n > 1) {
    const std::int64_t half = n / 2;
    __builtin_prefetch(base + half / 2);
    __builtin_prefetch(base + half + half / 2);
    base = base[half] <= v ? base + half : base;
    n -= half;
  }
  return (base - a) + (*base <= v);
}

/// With replacement: `u` holds rows x n_sample uniforms already drawn, `cdf` the rows' cumulative
/// sums.
void sample_with_replacement(std::int64_t rows, std::int64_t categories, std::int64_t n_sample,
                             const double* u, const double* cdf_all, std::int64_t* out) {
  cpu_parallel_for(0, rows, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t r = first; r < last; ++r) {
      const double* cdf = cdf_all + r * categories;
      const double total = cdf[categories - 1];
      const double below_total = std::nextafter(total, 0.0);
      for (std::int64_t s = 0; s < n_sample; ++s) {
        const double v = std::min(u[r * n_sample + s] * total, below_total);
        out[r * n_sample + s] = upper_bound_index(cdf, categories, v);
      }
    }
  });
}

/// Without replacement: `e` holds rows x categories exponentials already drawn; the n_sample
/// smallest (E / p, index) pairs of each row, ascending.
template <class T>
void sample_without_replacement(const T* p, std::int64_t rows, std::int64_t categories,
                                std::int64_t n_sample, const double* e, std::int64_t* out) {
  cpu_parallel_for(0, rows, 1, [&](std::int64_t first, std::int64_t last) {
    using Pair = std::pair<double, std::int64_t>;  // (key, index): compared lexicographically
    std::vector<Pair> heap;                        // a max-heap of the smallest pairs so far
    heap.reserve(static_cast<std::size_t>(n_sample));
    for (std::int64_t r = first; r < last; ++r) {
      const T* row = p + r * categories;
      const double* er = e + r * categories;
      heap.clear();
      for (std::int64_t c = 0; c < categories; ++c) {
        const double pc = static_cast<double>(row[c]);
        const double key = pc > 0 ? er[c] / pc : std::numeric_limits<double>::infinity();
        if (static_cast<std::int64_t>(heap.size()) < n_sample) {
          heap.emplace_back(key, c);
          std::push_heap(heap.begin(), heap.end());
        } else if (key < heap.front().first) {  // a tie loses: its index is larger
          std::pop_heap(heap.begin(), heap.end());
          heap.back() = {key, c};
          std::push_heap(heap.begin(), heap.end());
        }
      }
      std::sort_heap(heap.begin(), heap.end());
      for (std::int64_t s = 0; s < n_sample; ++s) out[r * n_sample + s] = heap[s].second;
    }
  });
}

/// Draws into `result`, a contiguous int64 tensor of (rows, n_sample), after every check and
/// allocation (Note [Check, allocate, then claim]).
void multinomial_into(const Tensor& self, std::int64_t n_sample, bool replacement,
                      const OptGen& gen, Tensor& result) {
  if (self.is_cpu()) {  // Note [multinomial on the CPU]
    // Borrowed where it can be (a contiguous matrix): see Fill's target.
    const c10::MaybeOwned<Tensor> p = self.dim() == 1
                                          ? c10::MaybeOwned<Tensor>::owned(self.unsqueeze(0).contiguous())
                                          : self.expect_contiguous();
    const std::int64_t rows = p->size(0), categories = p->size(1);
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, p->scalar_type(), "multinomial", [&] {
      const auto* data = p->const_data_ptr<scalar_t>();
      auto* out = result.data_ptr<std::int64_t>();
      if (replacement) {
        auto* cdf = static_cast<double*>(scratch(static_cast<std::size_t>(rows * categories) * 8));
        check_rows(data, rows, categories, cdf);
        Tensor u = at::empty({rows, n_sample}, p->options().dtype(at::kDouble));
        fill(u, request(Sampler::uniform, true, 0, 1), gen, "multinomial");  // u.uniform_(0, 1, gen)
        sample_with_replacement(rows, categories, n_sample, u.const_data_ptr<double>(), cdf, out);
      } else {
        check_rows(data, rows, categories, static_cast<double*>(nullptr));
        Tensor e = at::empty({rows, categories}, p->options().dtype(at::kDouble));
        fill(e, request(Sampler::exponential, true, 1), gen, "multinomial");  // e.exponential_(1, gen)
        sample_without_replacement(data, rows, categories, n_sample, e.const_data_ptr<double>(),
                                   out);
      }
    });
    return;
  }
  // CUDA: Note [multinomial] as tensor ops.
  const Tensor p = (self.dim() == 1 ? self.unsqueeze(0) : self).to(at::kDouble).contiguous();
  const std::int64_t rows = p.size(0), categories = p.size(1);
  TORCH_CHECK(at::isfinite(p).all().item<bool>() && p.ge(0).all().item<bool>(),
              "rb: multinomial expects probabilities that are finite and >= 0");
  TORCH_CHECK(p.gt(0).any(1).all().item<bool>(),
              "rb: multinomial: a row of probabilities sums to 0");
  if (replacement) {
    Tensor u = at::empty({rows, n_sample}, p.options());
    const Tensor cdf = p.cpu().cumsum(1).to(p.device());  // in order, the same on every device
    const Tensor total = cdf.select(1, categories - 1).unsqueeze(1);
    const Tensor below_total = at::nextafter(total, at::zeros_like(total));
    u.uniform_(0, 1, gen);
    at::minimum_out(u, u.mul_(total), below_total);
    at::searchsorted_out(result, cdf, u, /*out_int32=*/false, /*right=*/true);
  } else {
    // Zero-probability categories get the key +inf: drawn last, by index, as they must be when a
    // row has fewer nonzero categories than samples (torch draws them too).
    const Tensor zero = p.le(0);
    Tensor keys = at::empty({rows, categories}, p.options());
    Tensor order = at::empty({rows, categories}, p.options().dtype(at::kLong));
    Tensor sorted = at::empty_like(keys);
    keys.exponential_(1, gen);
    keys.div_(p).masked_fill_(zero, std::numeric_limits<double>::infinity());
    at::sort_out(sorted, order, keys, /*stable=*/true, /*dim=*/1, /*descending=*/false);
    result.copy_(order.narrow(1, 0, n_sample));
  }
}

/// torch's checks of multinomial's arguments; returns the number of samples.
std::int64_t check_multinomial(const Tensor& self, const c10::SymInt& n, bool replacement) {
  const std::int64_t n_sample = n.guard_int(__FILE__, __LINE__);
  TORCH_CHECK(self.dim() == 1 || self.dim() == 2,
              "rb: multinomial expects a 1-D or 2-D prob tensor, got ", self.dim(), "-D");
  TORCH_CHECK(at::isFloatingType(self.scalar_type()),
              "rb: multinomial expects a floating point prob tensor");
  TORCH_CHECK(n_sample > 0, "rb: multinomial expects num_samples > 0, got ", n_sample);
  const std::int64_t categories = self.size(-1);
  TORCH_CHECK(categories > 0, "rb: multinomial expects at least one category");
  TORCH_CHECK(categories <= (std::int64_t{1} << 24),
              "rb: multinomial: the number of categories cannot exceed "
              "2^24 (torch's limit)");
  TORCH_CHECK(replacement || n_sample <= categories, "rb: multinomial cannot draw ", n_sample,
              " samples without replacement from ", categories, " categories");
  return n_sample;
}

Tensor multinomial(c10::DispatchKeySet ks, const Tensor& self, c10::SymInt n, bool replacement,
                   OptGen gen) {
  if (!use_rb(gen, self, Fills::floating))
    return at::_ops::multinomial::redispatch(below(ks), self, n, replacement, gen);
  const std::int64_t n_sample = check_multinomial(self, n, replacement);
  const std::int64_t rows = self.dim() == 1 ? 1 : self.size(0);
  Tensor result = at::empty({rows, n_sample}, self.options().dtype(at::kLong));
  multinomial_into(self, n_sample, replacement, gen, result);
  return self.dim() == 1 ? result.squeeze(0) : result;
}
Tensor& multinomial_out(c10::DispatchKeySet ks, const Tensor& self, c10::SymInt n, bool replacement,
                        OptGen gen, Tensor& out) {
  if (!use_rb(gen, self, Fills::floating))
    return at::_ops::multinomial_out::redispatch(below(ks), self, n, replacement, gen, out);
  const std::int64_t n_sample = check_multinomial(self, n, replacement);
  TORCH_CHECK(out.scalar_type() == at::kLong,
              "rb: multinomial expects an int64 (Long) out tensor, got ", out.scalar_type(),
              " (as torch)");
  TORCH_CHECK(out.device() == self.device(),
              "rb: multinomial expects out on the device of the probabilities, ", self.device(),
              ", got ", out.device());
  const std::int64_t rows = self.dim() == 1 ? 1 : self.size(0);
  if (self.dim() == 1) {
    at::native::resize_output(out, {n_sample});
  } else {
    at::native::resize_output(out, {rows, n_sample});
  }
  check_no_overlap(out);
  const bool direct = out.is_contiguous();
  Tensor result = direct ? out.view({rows, n_sample}) : at::empty({rows, n_sample}, out.options());
  multinomial_into(self, n_sample, replacement, gen, result);
  if (!direct) out.copy_(result.view(out.sizes()));
  return out;
}

}  // namespace
}  // namespace rb::detail::ops

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  using namespace rb::detail::ops;
  m.impl("multinomial", TORCH_FN(multinomial));
  m.impl("multinomial.out", TORCH_FN(multinomial_out));
}
