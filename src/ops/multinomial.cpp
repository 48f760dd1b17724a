// rb's multinomial: with replacement by the inverse CDF, without by the exponential race.
#include <cstdint>
#include <limits>

#include <ATen/ATen.h>
#include <ATen/Operators.h>
#include <ATen/native/Resize.h>
#include <torch/library.h>

#include "../ops.hpp"
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

/// Draws into `result`, a contiguous int64 tensor of (rows, n_sample), after every check and
/// allocation (Note [Check, allocate, then claim]).
void multinomial_into(const Tensor& self, std::int64_t n_sample, bool replacement,
                      const OptGen& gen, Tensor& result) {
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
    Tensor sorted = keys.is_cpu() ? Tensor() : at::empty_like(keys);
    keys.exponential_(1, gen);
    keys.div_(p).masked_fill_(zero, std::numeric_limits<double>::infinity());
    if (keys.is_cpu()) {
      // Keys are > 0, and positive doubles order as their bits do as int64: the O(C) argsort of
      // randperm gives the stable sort's order, with no allocation of torch's.
      const auto* key_bits = reinterpret_cast<const std::int64_t*>(keys.const_data_ptr<double>());
      for (std::int64_t r = 0; r < rows; ++r) {
        argsort_keys(key_bits + r * categories, categories,
                     order.data_ptr<std::int64_t>() + r * categories);
      }
    } else {
      at::sort_out(sorted, order, keys, /*stable=*/true, /*dim=*/1, /*descending=*/false);
    }
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
