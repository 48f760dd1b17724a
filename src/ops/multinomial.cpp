// rb's multinomial: with replacement by the inverse CDF, without by the exponential race.
#include <cstdint>
#include <limits>

#include <ATen/ATen.h>
#include <ATen/Operators.h>
#include <ATen/native/Resize.h>
#include <torch/library.h>

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
// are drawn, in the order of their keys (a stable sort): the exponential race, exact in law.
// Both advance the stream by a fixed amount: ceil(R S / 2) or ceil(R C / 2) outputs.

Tensor multinomial_impl(const Tensor& self, std::int64_t n_sample, bool replacement, const OptGen& gen) {
  TORCH_CHECK(self.dim() == 1 || self.dim() == 2, "rb: multinomial expects a 1-D or 2-D prob tensor, got ",
              self.dim(), "-D");
  TORCH_CHECK(at::isFloatingType(self.scalar_type()), "rb: multinomial expects a floating point prob tensor");
  TORCH_CHECK(n_sample > 0, "rb: multinomial expects num_samples > 0, got ", n_sample);
  const Tensor p = (self.dim() == 1 ? self.unsqueeze(0) : self).to(at::kDouble).contiguous();
  const std::int64_t rows = p.size(0), categories = p.size(1);
  TORCH_CHECK(categories > 0, "rb: multinomial expects at least one category");
  TORCH_CHECK(replacement || n_sample <= categories, "rb: multinomial cannot draw ", n_sample,
              " samples without replacement from ", categories, " categories");
  TORCH_CHECK(at::isfinite(p).all().item<bool>() && p.ge(0).all().item<bool>(),
              "rb: multinomial expects probabilities that are finite and >= 0");
  const Tensor nonzero = p.gt(0).sum(1);
  TORCH_CHECK(nonzero.gt(0).all().item<bool>(), "rb: multinomial: a row of probabilities sums to 0");
  Tensor result;
  if (replacement) {
    Tensor u = at::empty({rows, n_sample}, p.options());
    u.uniform_(0, 1, gen);
    const Tensor cdf = p.cpu().cumsum(1).to(p.device());  // in order, the same on every device
    const Tensor total = cdf.select(1, categories - 1).unsqueeze(1);
    const Tensor v = at::minimum(u.mul(total), at::nextafter(total, at::zeros_like(total)));
    result = at::searchsorted(cdf, v, /*out_int32=*/false, /*right=*/true);
  } else {
    TORCH_CHECK(nonzero.ge(n_sample).all().item<bool>(), "rb: multinomial: a row has fewer than ",
                n_sample, " categories of nonzero probability to draw without replacement");
    Tensor e = at::empty({rows, categories}, p.options());
    e.exponential_(1, gen);
    const Tensor keys = at::where(p.gt(0), e.div(p), std::numeric_limits<double>::infinity());
    result = std::get<1>(keys.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false)).narrow(1, 0, n_sample);
  }
  return self.dim() == 1 ? result.squeeze(0) : result;
}

Tensor multinomial(c10::DispatchKeySet ks, const Tensor& self, c10::SymInt n, bool replacement, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::multinomial::redispatch(below(ks), self, n, replacement, gen);
  return multinomial_impl(self, n.guard_int(__FILE__, __LINE__), replacement, gen).contiguous();
}
Tensor& multinomial_out(c10::DispatchKeySet ks, const Tensor& self, c10::SymInt n, bool replacement,
                        OptGen gen, Tensor& out) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::multinomial_out::redispatch(below(ks), self, n, replacement, gen, out);
  const Tensor result = multinomial_impl(self, n.guard_int(__FILE__, __LINE__), replacement, gen);
  at::native::resize_output(out, result.sizes());
  return out.copy_(result);
}

}  // namespace
}  // namespace rb::detail::ops

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  using namespace rb::detail::ops;
  m.impl("multinomial", TORCH_FN(multinomial));
  m.impl("multinomial.out", TORCH_FN(multinomial_out));
}
