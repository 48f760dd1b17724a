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
// for x > 0, noise is 1. One uniform per element whatever the sign (a fixed advance).
Tensor& rrelu_noise_into(const Tensor& self, Tensor& noise, const at::Scalar& lower, const at::Scalar& upper,
                         const OptGen& gen, Tensor& out) {
  TORCH_CHECK(noise.sizes() == self.sizes(), "rb: rrelu_with_noise expects noise of the input's shape ",
              self.sizes(), ", got ", noise.sizes());
  Tensor u = at::empty(self.sizes(), self.options().memory_format(at::MemoryFormat::Contiguous));
  u.uniform_(lower.toDouble(), upper.toDouble(), gen);
  noise.copy_(at::where(self.le(0), u, at::ones_like(u)));
  return out.copy_(self.mul(noise));
}

Tensor rrelu_with_noise(c10::DispatchKeySet ks, const Tensor& self, Tensor& noise, const at::Scalar& lower,
                        const at::Scalar& upper, bool training, OptGen gen) {
  if (!training || !use_rb(gen, self, Fills::floating)) {
    return at::_ops::rrelu_with_noise::redispatch(below(ks), self, noise, lower, upper, training, gen);
  }
  Tensor out = at::empty_like(self);
  return rrelu_noise_into(self, noise, lower, upper, gen, out);
}
Tensor& rrelu_with_noise_out(c10::DispatchKeySet ks, const Tensor& self, Tensor& noise, const at::Scalar& lower,
                             const at::Scalar& upper, bool training, OptGen gen, Tensor& out) {
  if (!training || !use_rb(gen, self, Fills::floating)) {
    return at::_ops::rrelu_with_noise_out::redispatch(below(ks), self, noise, lower, upper, training, gen, out);
  }
  at::native::resize_output(out, self.sizes());
  return rrelu_noise_into(self, noise, lower, upper, gen, out);
}
Tensor& rrelu_with_noise_(c10::DispatchKeySet ks, Tensor& self, Tensor& noise, const at::Scalar& lower,
                          const at::Scalar& upper, bool training, OptGen gen) {
  if (!training || !use_rb(gen, self, Fills::floating)) {
    return at::_ops::rrelu_with_noise_::redispatch(below(ks), self, noise, lower, upper, training, gen);
  }
  return rrelu_noise_into(self.clone(), noise, lower, upper, gen, self);
}

// Dropout keeps each element with probability 1 - p: mask = bernoulli(1 - p) (32-bit elements),
// output = input * (mask / (1 - p)), the arithmetic of torch's composite dropout (what the CPU
// runs), so a philox block gives the same values whether dropout reaches this kernel (CUDA) or
// decomposes into bernoulli_ (CPU).
std::tuple<Tensor, Tensor> native_dropout(c10::DispatchKeySet ks, const Tensor& input, double p,
                                          std::optional<bool> train) {
  if (!use_rb(std::nullopt, input, Fills::floating) || (train.has_value() && !*train) || p == 0 ||
      input.numel() == 0) {
    return at::_ops::native_dropout::redispatch(below(ks), input, p, train);
  }
  TORCH_CHECK(0 <= p && p <= 1, "rb: dropout probability has to be between 0 and 1, but got ", p);
  Tensor mask = at::empty(input.sizes(), input.options().dtype(at::kBool));
  mask.bernoulli_(1 - p);
  if (p == 1) return {input.mul(at::zeros({}, input.options())), mask};
  return {input.mul(mask.to(input.scalar_type()).div_(1 - p)), mask};
}

// _fused_dropout(self, p): p is the probability to KEEP; mask is uint8.
std::tuple<Tensor, Tensor> fused_dropout(c10::DispatchKeySet ks, const Tensor& self, double p, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::_fused_dropout::redispatch(below(ks), self, p, gen);
  TORCH_CHECK(0 <= p && p <= 1, "rb: _fused_dropout expects a keep probability in [0, 1], got ", p);
  Tensor mask = at::empty(self.sizes(), self.options().dtype(at::kByte));
  mask.bernoulli_(p, gen);
  const double scale = p == 0 ? 0.0 : 1.0 / p;
  return {self.mul(mask).mul_(scale), mask};
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
