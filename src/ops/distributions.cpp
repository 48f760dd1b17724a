// rb's kernels for the distributions: uniform_, normal_, log_normal_, exponential_, cauchy_,
// geometric_, bernoulli_ and the functional normal / bernoulli forms torch implements per backend.
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/ExpandUtils.h>
#include <ATen/Operators.h>
#include <ATen/native/Resize.h>
#include <torch/library.h>

#include "common.hpp"
#include "rb/detail/portable_math.hpp"

namespace rb::detail::ops {
namespace {

// ---- in-place distributions -------------------------------------------------------------------

Tensor& uniform_(c10::DispatchKeySet ks, Tensor& self, double from, double to, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::uniform_::redispatch(below(ks), self, from, to, gen);
  check_floating(self, "uniform_");
  // torch's own checks: bounds the dtype holds, and a width it holds too.
  const double max = floating_max(self.scalar_type());
  TORCH_CHECK(std::isfinite(from) && std::isfinite(to) && from >= -max && to <= max,
              "rb: uniform_ expects from and to within the range of ", self.scalar_type(), " (+-", max,
              "), got [", from, ", ", to, ")");
  TORCH_CHECK(from <= to, "rb: uniform_ expects from <= to, got from=", from, " > to=", to);
  TORCH_CHECK(to - from <= max, "rb: uniform_ expects to - from <= ", max, " for ", self.scalar_type(),
              ", got to - from = ", to - from);
  fill(self, request(Sampler::uniform, is_double(self), from, to), gen, "uniform_");
  return self;
}

Tensor& normal_(c10::DispatchKeySet ks, Tensor& self, double mean, double std, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::normal_::redispatch(below(ks), self, mean, std, gen);
  check_floating(self, "normal_");
  TORCH_CHECK(std >= 0.0, "rb: normal_ expects std >= 0.0, got std=", std);
  fill(self, request(Sampler::normal, is_double(self), mean, std), gen, "normal_");
  return self;
}

Tensor& log_normal_(c10::DispatchKeySet ks, Tensor& self, double mean, double std, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::log_normal_::redispatch(below(ks), self, mean, std, gen);
  check_floating(self, "log_normal_");
  TORCH_CHECK(std > 0.0, "rb: log_normal_ expects std > 0.0, got std=", std);
  fill(self, request(Sampler::log_normal, is_double(self), mean, std), gen, "log_normal_");
  return self;
}

Tensor& exponential_(c10::DispatchKeySet ks, Tensor& self, double lambd, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::exponential_::redispatch(below(ks), self, lambd, gen);
  check_floating(self, "exponential_");
  TORCH_CHECK(lambd > 0.0, "rb: exponential_ expects lambda > 0.0, got lambda=", lambd);
  fill(self, request(Sampler::exponential, is_double(self), lambd), gen, "exponential_");
  return self;
}

Tensor& cauchy_(c10::DispatchKeySet ks, Tensor& self, double median, double sigma, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::cauchy_::redispatch(below(ks), self, median, sigma, gen);
  check_floating(self, "cauchy_");
  TORCH_CHECK(sigma > 0.0, "rb: cauchy_ expects sigma > 0.0, got sigma=", sigma);
  fill(self, request(Sampler::cauchy, is_double(self), median, sigma), gen, "cauchy_");
  return self;
}

Tensor& geometric_(c10::DispatchKeySet ks, Tensor& self, double p, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::geometric_::redispatch(below(ks), self, p, gen);
  check_supported(self, "geometric_");
  TORCH_CHECK(self.scalar_type() != at::kBool, "rb: geometric_ does not fill bool tensors");
  TORCH_CHECK(0 < p && p < 1, "rb: geometric_ expects p in (0, 1), got p=", p);
  // log1p(-p), computed once per call with rb's portable math; 64-bit elements for 8-byte types.
  const bool wide = self.element_size() == 8;
  fill(self, request(Sampler::geometric, wide, wide ? log1p_f64(-p) : log1p_f32(static_cast<float>(-p))),
       gen, "geometric_");
  return self;
}

Tensor& bernoulli_float_(c10::DispatchKeySet ks, Tensor& self, double p, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::bernoulli__float::redispatch(below(ks), self, p, gen);
  check_supported(self, "bernoulli_");
  TORCH_CHECK(0 <= p && p <= 1, "rb: bernoulli_ expects p in [0, 1], got p=", p);
  fill(self, request(Sampler::bernoulli, is_double(self), p), gen, "bernoulli_");
  return self;
}

Tensor& bernoulli_tensor_(c10::DispatchKeySet ks, Tensor& self, const Tensor& p, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::bernoulli__Tensor::redispatch(below(ks), self, p, gen);
  check_supported(self, "bernoulli_");
  TORCH_CHECK(p.is_floating_point(), "rb: bernoulli_ expects a floating point p, got ", p.scalar_type());
  const Tensor probs = p.to(self.device(), at::kDouble).expand(self.sizes()).contiguous();
  TORCH_CHECK(at::logical_and(probs >= 0, probs <= 1).all().item<bool>(),
              "rb: bernoulli_ expects all probabilities in [0, 1]");
  FillRequest r = request(Sampler::bernoulli_tensor, is_double(self));
  r.p = probs.data_ptr<double>();
  fill(self, r, gen, "bernoulli_");
  return self;
}

// ---- functional forms torch implements per backend -----------------------------------------------

Tensor& bernoulli_out(c10::DispatchKeySet ks, const Tensor& self, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::supported)) return at::_ops::bernoulli_out::redispatch(below(ks), self, gen, out);
  at::native::resize_output(out, self.sizes());
  return out.bernoulli_(self, gen);
}

// normal(mean, std) with tensor arguments: a standard normal of the broadcast shape, then
// out * std + mean as two elementwise ops (each correctly rounded on every device).
Tensor& normal_tensor_out(const Tensor& mean, const Tensor& std, const OptGen& gen, Tensor& out) {
  TORCH_CHECK(!std.is_complex() && (std.numel() == 0 || std.min().ge(0).item<bool>()),
              "rb: normal expects all elements of std >= 0.0");
  at::native::resize_output(out, at::infer_size(mean.sizes(), std.sizes()));
  out.normal_(0, 1, gen);
  return out.mul_(std).add_(mean);
}

Tensor normal_tt(c10::DispatchKeySet ks, const Tensor& mean, const Tensor& std, OptGen gen) {
  if (!use_rb(gen, mean, Fills::floating)) return at::_ops::normal_Tensor_Tensor::redispatch(below(ks), mean, std, gen);
  Tensor out = at::empty({0}, mean.options());
  return normal_tensor_out(mean, std, gen, out);
}
Tensor& normal_tt_out(c10::DispatchKeySet ks, const Tensor& mean, const Tensor& std, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::floating)) return at::_ops::normal_Tensor_Tensor_out::redispatch(below(ks), mean, std, gen, out);
  return normal_tensor_out(mean, std, gen, out);
}
Tensor normal_tf(c10::DispatchKeySet ks, const Tensor& mean, double std, OptGen gen) {
  if (!use_rb(gen, mean, Fills::floating)) return at::_ops::normal_Tensor_float::redispatch(below(ks), mean, std, gen);
  TORCH_CHECK(std >= 0.0, "rb: normal expects std >= 0.0, got std=", std);
  Tensor out = at::empty_like(mean, at::MemoryFormat::Contiguous);
  out.normal_(0, std, gen);
  return out.add_(mean);
}
Tensor& normal_tf_out(c10::DispatchKeySet ks, const Tensor& mean, double std, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::floating)) return at::_ops::normal_Tensor_float_out::redispatch(below(ks), mean, std, gen, out);
  TORCH_CHECK(std >= 0.0, "rb: normal expects std >= 0.0, got std=", std);
  at::native::resize_output(out, mean.sizes());
  out.normal_(0, std, gen);
  return out.add_(mean);
}
Tensor normal_ft(c10::DispatchKeySet ks, double mean, const Tensor& std, OptGen gen) {
  if (!use_rb(gen, std, Fills::floating)) return at::_ops::normal_float_Tensor::redispatch(below(ks), mean, std, gen);
  Tensor out = at::empty({0}, std.options());
  return normal_tensor_out(at::scalar_tensor(mean, std.options()), std, gen, out);
}
Tensor& normal_ft_out(c10::DispatchKeySet ks, double mean, const Tensor& std, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::floating)) return at::_ops::normal_float_Tensor_out::redispatch(below(ks), mean, std, gen, out);
  return normal_tensor_out(at::scalar_tensor(mean, std.options()), std, gen, out);
}

}  // namespace
}  // namespace rb::detail::ops

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  using namespace rb::detail::ops;
  m.impl("uniform_", TORCH_FN(uniform_));
  m.impl("normal_", TORCH_FN(normal_));
  m.impl("log_normal_", TORCH_FN(log_normal_));
  m.impl("exponential_", TORCH_FN(exponential_));
  m.impl("cauchy_", TORCH_FN(cauchy_));
  m.impl("geometric_", TORCH_FN(geometric_));
  m.impl("bernoulli_.float", TORCH_FN(bernoulli_float_));
  m.impl("bernoulli_.Tensor", TORCH_FN(bernoulli_tensor_));
  m.impl("bernoulli.out", TORCH_FN(bernoulli_out));
  m.impl("normal.Tensor_Tensor", TORCH_FN(normal_tt));
  m.impl("normal.Tensor_Tensor_out", TORCH_FN(normal_tt_out));
  m.impl("normal.Tensor_float", TORCH_FN(normal_tf));
  m.impl("normal.Tensor_float_out", TORCH_FN(normal_tf_out));
  m.impl("normal.float_Tensor", TORCH_FN(normal_ft));
  m.impl("normal.float_Tensor_out", TORCH_FN(normal_ft_out));
}
