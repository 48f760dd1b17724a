// rb's rrelu_with_noise, native_dropout and _fused_dropout: a uniform or a Bernoulli mask per
// element, then elementwise ops.
#include <optional>
#include <tuple>

#include <ATen/ATen.h>
#include <ATen/Operators.h>
#include <ATen/native/Resize.h>
#include <torch/library.h>

#include "common.hpp"

namespace rb::detail::ops {
namespace {

// rrelu in training: for x <= 0, noise is uniform in [lower, upper) and the output x * noise;
// otherwise noise is 1. One uniform per element whatever the sign (a fixed advance). Every check
// and allocation comes before the draw (Note [Check, allocate, then claim]).
Tensor& rrelu_noise_into(const Tensor& self, Tensor& noise, const at::Scalar& lower,
                         const at::Scalar& upper, const OptGen& gen, Tensor& out) {
  TORCH_CHECK(noise.sizes() == self.sizes(),
              "rb: rrelu_with_noise expects noise of the input's shape ", self.sizes(), ", got ",
              noise.sizes());
  check_no_overlap(noise);
  check_no_overlap(out);
  const Tensor not_negative = self.le(0).logical_not_();  // noise 1 there (and for NaN)
  Tensor u = at::empty(self.sizes(), self.options().memory_format(at::MemoryFormat::Contiguous));
  u.uniform_(lower.toDouble(), upper.toDouble(), gen);
  noise.copy_(u.masked_fill_(not_negative, 1));
  return at::mul_out(out, self, noise);
}

Tensor rrelu_with_noise(c10::DispatchKeySet ks, const Tensor& self, Tensor& noise,
                        const at::Scalar& lower, const at::Scalar& upper, bool training,
                        OptGen gen) {
  if (!training || !use_rb(gen, self, Fills::floating)) {
    return at::_ops::rrelu_with_noise::redispatch(below(ks), self, noise, lower, upper, training,
                                                  gen);
  }
  Tensor out = at::empty_like(self);
  return rrelu_noise_into(self, noise, lower, upper, gen, out);
}
Tensor& rrelu_with_noise_out(c10::DispatchKeySet ks, const Tensor& self, Tensor& noise,
                             const at::Scalar& lower, const at::Scalar& upper, bool training,
                             OptGen gen, Tensor& out) {
  if (!training || !use_rb(gen, self, Fills::floating)) {
    return at::_ops::rrelu_with_noise_out::redispatch(below(ks), self, noise, lower, upper,
                                                      training, gen, out);
  }
  at::native::resize_output(out, self.sizes());
  return rrelu_noise_into(self, noise, lower, upper, gen, out);
}
Tensor& rrelu_with_noise_(c10::DispatchKeySet ks, Tensor& self, Tensor& noise,
                          const at::Scalar& lower, const at::Scalar& upper, bool training,
                          OptGen gen) {
  if (!training || !use_rb(gen, self, Fills::floating)) {
    return at::_ops::rrelu_with_noise_::redispatch(below(ks), self, noise, lower, upper, training,
                                                   gen);
  }
  return rrelu_noise_into(self.clone(), noise, lower, upper, gen, self);
}

// Note [Dropout in a philox block]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// On the CPU, torch's dropout decomposes into noise = empty_like(input).bernoulli_(1 - p), then
// input * noise.div_(1 - p); on CUDA it reaches native_dropout, which rb implements the same way:
// the noise drawn in the input's dtype (so 64-bit elements for float64, 32-bit ones otherwise:
// Note [Element mapping]), then the same two elementwise ops. A philox block thus gives the same
// output, mask and stream advance on both devices, in every dtype (torch's own CPU native_dropout
// also draws its mask in the input's dtype).
std::tuple<Tensor, Tensor> native_dropout(c10::DispatchKeySet ks, const Tensor& input, double p,
                                          std::optional<bool> train) {
  if (!use_rb(std::nullopt, input, Fills::floating) || (train.has_value() && !*train) || p == 0 ||
      input.numel() == 0) {
    return at::_ops::native_dropout::redispatch(below(ks), input, p, train);
  }
  TORCH_CHECK(0 <= p && p <= 1, "rb: dropout probability has to be between 0 and 1, but got ", p);
  Tensor noise = at::empty(input.sizes(), input.options());
  Tensor mask = at::empty(input.sizes(), input.options().dtype(at::kBool));
  Tensor output = at::empty_like(input);
  const Tensor zero = at::zeros({}, input.options());
  noise.bernoulli_(1 - p);
  at::ne_out(mask, noise, 0);
  if (p == 1) return {at::mul_out(output, input, zero), mask};
  return {at::mul_out(output, input, noise.div_(1 - p)), mask};
}

// _fused_dropout(self, p): p is the probability to KEEP; mask is uint8.
std::tuple<Tensor, Tensor> fused_dropout(c10::DispatchKeySet ks, const Tensor& self, double p,
                                         OptGen gen) {
  if (!use_rb(gen, self, Fills::floating))
    return at::_ops::_fused_dropout::redispatch(below(ks), self, p, gen);
  TORCH_CHECK(0 <= p && p <= 1, "rb: _fused_dropout expects a keep probability in [0, 1], got ", p);
  Tensor mask = at::empty(self.sizes(), self.options().dtype(at::kByte));
  Tensor output = at::empty_like(self);
  mask.bernoulli_(p, gen);
  const double scale = p == 0 ? 0.0 : 1.0 / p;
  output.copy_(mask).mul_(self).mul_(scale);  // mask * self = self * mask, exactly
  return {output, mask};
}

}  // namespace
}  // namespace rb::detail::ops

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  using namespace rb::detail::ops;
  m.impl("rrelu_with_noise", TORCH_FN(rrelu_with_noise));
  m.impl("rrelu_with_noise.out", TORCH_FN(rrelu_with_noise_out));
  m.impl("rrelu_with_noise_", TORCH_FN(rrelu_with_noise_));
  m.impl("native_dropout", TORCH_FN(native_dropout));
  m.impl("_fused_dropout", TORCH_FN(fused_dropout));
}
