// rb's kernels for the distributions: uniform_, normal_, log_normal_, exponential_, cauchy_,
// geometric_, bernoulli_ and the functional normal / bernoulli forms torch implements per backend.
#include <algorithm>
#include <cmath>
#include <cstdint>

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
  if (!use_rb(gen, self, Fills::floating))
    return at::_ops::uniform_::redispatch(below(ks), self, from, to, gen);
  check_floating(self, "uniform_");
  // torch's own checks: bounds the dtype holds, and a width it holds too.
  const double max = floating_max(self.scalar_type());
  TORCH_CHECK(std::isfinite(from) && std::isfinite(to) && from >= -max && to <= max,
              "rb: uniform_ expects from and to within the range of ", self.scalar_type(), " (+-",
              max, "), got [", from, ", ", to, ")");
  TORCH_CHECK(from <= to, "rb: uniform_ expects from <= to, got from=", from, " > to=", to);
  TORCH_CHECK(to - from <= max, "rb: uniform_ expects to - from <= ", max, " for ",
              self.scalar_type(), ", got to - from = ", to - from);
  fill(self, request(Sampler::uniform, is_double(self), from, to), gen, "uniform_");
  return self;
}

Tensor& normal_(c10::DispatchKeySet ks, Tensor& self, double mean, double std, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating))
    return at::_ops::normal_::redispatch(below(ks), self, mean, std, gen);
  check_floating(self, "normal_");
  TORCH_CHECK(std >= 0.0, "rb: normal_ expects std >= 0.0, got std=", std);
  fill(self, request(Sampler::normal, is_double(self), mean, std), gen, "normal_");
  return self;
}

Tensor& log_normal_(c10::DispatchKeySet ks, Tensor& self, double mean, double std, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating))
    return at::_ops::log_normal_::redispatch(below(ks), self, mean, std, gen);
  check_floating(self, "log_normal_");
  TORCH_CHECK(std > 0.0, "rb: log_normal_ expects std > 0.0, got std=", std);
  fill(self, request(Sampler::log_normal, is_double(self), mean, std), gen, "log_normal_");
  return self;
}

Tensor& exponential_(c10::DispatchKeySet ks, Tensor& self, double lambd, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating))
    return at::_ops::exponential_::redispatch(below(ks), self, lambd, gen);
  check_floating(self, "exponential_");
  TORCH_CHECK(lambd > 0.0, "rb: exponential_ expects lambda > 0.0, got lambda=", lambd);
  fill(self, request(Sampler::exponential, is_double(self), lambd), gen, "exponential_");
  return self;
}

Tensor& cauchy_(c10::DispatchKeySet ks, Tensor& self, double median, double sigma, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating))
    return at::_ops::cauchy_::redispatch(below(ks), self, median, sigma, gen);
  check_floating(self, "cauchy_");
  TORCH_CHECK(sigma > 0.0, "rb: cauchy_ expects sigma > 0.0, got sigma=", sigma);
  fill(self, request(Sampler::cauchy, is_double(self), median, sigma), gen, "cauchy_");
  return self;
}

Tensor& geometric_(c10::DispatchKeySet ks, Tensor& self, double p, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported))
    return at::_ops::geometric_::redispatch(below(ks), self, p, gen);
  check_supported(self, "geometric_");
  TORCH_CHECK(self.scalar_type() != at::kBool, "rb: geometric_ does not fill bool tensors");
  TORCH_CHECK(0 < p && p < 1, "rb: geometric_ expects p in (0, 1), got p=", p);
  // log1p(-p), computed once per call with rb's portable math; 64-bit elements for 8-byte types.
  const bool wide = self.element_size() == 8;
  const double log1p_neg_p = wide ? log1p_f64(-p) : log1p_f32(static_cast<float>(-p));
  fill(self, request(Sampler::geometric, wide, log1p_neg_p), gen, "geometric_");
  return self;
}

Tensor& bernoulli_float_(c10::DispatchKeySet ks, Tensor& self, double p, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported))
    return at::_ops::bernoulli__float::redispatch(below(ks), self, p, gen);
  check_supported(self, "bernoulli_");
  TORCH_CHECK(0 <= p && p <= 1, "rb: bernoulli_ expects p in [0, 1], got p=", p);
  fill(self, request(Sampler::bernoulli, is_double(self), p), gen, "bernoulli_");
  return self;
}

// Note [bernoulli_ with a tensor of probabilities]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Element i of the output compares its word(s) with p[i] as a float64, p broadcast to the output's
// shape in row-major order (Note [Element mapping]). A p of one element takes the scalar path,
// which compares with the same float64: the same bits. Otherwise the probabilities are converted to
// float64 a chunk of elements at a time, into buffers allocated once: at most 2^20 elements, and
// at most the output's size in bytes altogether, so the extra memory never grows with a broadcast
// p (torch's kernel takes p as it is; rb's kernels read one float64 per element).

/// The float64 probabilities of consecutive output elements, a chunk at a time. Every buffer is
/// allocated by the constructor: see Note [Check, allocate, then claim].
class ProbabilityChunks {
 public:
  /// `p` is broadcast to `target`'s shape; the chunks are written on `target`'s device.
  ProbabilityChunks(const Tensor& p, const Tensor& target) : p_(p.expand(target.sizes())) {
    const bool flat = p_.is_contiguous();  // else each chunk gathers p's elements by offset
    const std::int64_t bytes_per_element = flat ? 8 : 48;  // the buffers below, per element
    constexpr std::int64_t kMin = 4096, kMax = std::int64_t{1} << 20;  // elements; multiples of 4
    const auto fits = static_cast<std::int64_t>(target.nbytes()) / bytes_per_element / 4 * 4;
    chunk_ = std::min(target.numel(), std::clamp(fits, kMin, kMax));
    buffer_ = at::empty({chunk_}, target.options().dtype(at::kDouble));
    if (flat) return;
    std::int64_t span = 1;  // p's elements lie in [storage offset, storage offset + span)
    for (std::int64_t d = 0; d < p_.dim(); ++d) span += (p_.size(d) - 1) * p_.stride(d);
    storage_ = p_.as_strided({span}, {1});
    const auto index_options = p_.options().dtype(at::kLong);
    index_ = at::empty({chunk_}, index_options);
    offset_ = at::empty({chunk_}, index_options);
    scratch_ = at::empty({chunk_}, index_options);
    values_ = at::empty({chunk_}, p_.options());
  }

  /// Elements per chunk: a multiple of 4 (so of the elements per Philox output), or all of them.
  std::int64_t size() const { return chunk_; }

  /// The probabilities of output elements [first, first + n), n <= size().
  const double* load(std::int64_t first, std::int64_t n) {
    Tensor buffer = buffer_.narrow(0, 0, n);
    if (!storage_.defined()) {
      buffer.copy_(p_.view({-1}).narrow(0, first, n));
      return buffer.data_ptr<double>();
    }
    // Each element's offset in p's storage, from its row-major index: sum of coordinate * stride.
    Tensor index = index_.narrow(0, 0, n), offset = offset_.narrow(0, 0, n),
           scratch = scratch_.narrow(0, 0, n);
    at::arange_out(index, first, first + n, 1);
    offset.zero_();
    for (std::int64_t d = p_.dim() - 1; d >= 0; --d) {
      if (p_.size(d) == 1) continue;
      if (p_.stride(d) != 0)
        offset.add_(at::remainder_out(scratch, index, p_.size(d)), p_.stride(d));
      index.div_(p_.size(d), "floor");
    }
    Tensor values = values_.narrow(0, 0, n);
    at::take_out(values, storage_, offset);
    buffer.copy_(values);
    return buffer.data_ptr<double>();
  }

 private:
  Tensor p_;
  std::int64_t chunk_;
  Tensor buffer_;
  Tensor storage_, index_, offset_, scratch_, values_;  // gathering only
};

Tensor& bernoulli_tensor_(c10::DispatchKeySet ks, Tensor& self, const Tensor& p, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported))
    return at::_ops::bernoulli__Tensor::redispatch(below(ks), self, p, gen);
  check_supported(self, "bernoulli_");
  TORCH_CHECK(p.is_floating_point(), "rb: bernoulli_ expects a floating point p, got ",
              p.scalar_type());
  (void)p.expand(self.sizes());  // refuses, as torch does, a p that does not broadcast to self
  if (self.numel() > 0) {
    const auto [low, high] = at::aminmax(p);  // on p's own elements: nothing of the output's size
    TORCH_CHECK(low.item<double>() >= 0 && high.item<double>() <= 1,  // NaN fails both
                "rb: bernoulli_ expects all probabilities in [0, 1]");
  }
  const bool wide = is_double(self);
  if (p.numel() == 1) {  // See Note [bernoulli_ with a tensor of probabilities]
    fill(self, request(Sampler::bernoulli, wide, p.item<double>()), gen, "bernoulli_");
    return self;
  }
  Fill filling(self, gen, "bernoulli_");
  ProbabilityChunks chunks(p, filling.target());
  const Stream stream = filling.claim(wide);
  for (std::int64_t first = 0; first < self.numel(); first += chunks.size()) {
    const std::int64_t n = std::min(chunks.size(), self.numel() - first);
    FillRequest r = request(Sampler::bernoulli_tensor, wide);
    r.p = chunks.load(first, n);
    filling.fill_part(r, stream, first, n);
  }
  filling.finish();
  return self;
}

// ---- functional forms torch implements per backend ----------------------------------------

Tensor& bernoulli_out(c10::DispatchKeySet ks, const Tensor& self, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::supported))
    return at::_ops::bernoulli_out::redispatch(below(ks), self, gen, out);
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
  if (!use_rb(gen, mean, Fills::floating))
    return at::_ops::normal_Tensor_Tensor::redispatch(below(ks), mean, std, gen);
  Tensor out = at::empty({0}, mean.options());
  return normal_tensor_out(mean, std, gen, out);
}
Tensor& normal_tt_out(c10::DispatchKeySet ks, const Tensor& mean, const Tensor& std, OptGen gen,
                      Tensor& out) {
  if (!use_rb(gen, out, Fills::floating))
    return at::_ops::normal_Tensor_Tensor_out::redispatch(below(ks), mean, std, gen, out);
  return normal_tensor_out(mean, std, gen, out);
}
Tensor normal_tf(c10::DispatchKeySet ks, const Tensor& mean, double std, OptGen gen) {
  if (!use_rb(gen, mean, Fills::floating))
    return at::_ops::normal_Tensor_float::redispatch(below(ks), mean, std, gen);
  TORCH_CHECK(std >= 0.0, "rb: normal expects std >= 0.0, got std=", std);
  Tensor out = at::empty_like(mean, at::MemoryFormat::Contiguous);
  out.normal_(0, std, gen);
  return out.add_(mean);
}
Tensor& normal_tf_out(c10::DispatchKeySet ks, const Tensor& mean, double std, OptGen gen,
                      Tensor& out) {
  if (!use_rb(gen, out, Fills::floating))
    return at::_ops::normal_Tensor_float_out::redispatch(below(ks), mean, std, gen, out);
  TORCH_CHECK(std >= 0.0, "rb: normal expects std >= 0.0, got std=", std);
  at::native::resize_output(out, mean.sizes());
  out.normal_(0, std, gen);
  return out.add_(mean);
}
Tensor normal_ft(c10::DispatchKeySet ks, double mean, const Tensor& std, OptGen gen) {
  if (!use_rb(gen, std, Fills::floating))
    return at::_ops::normal_float_Tensor::redispatch(below(ks), mean, std, gen);
  Tensor out = at::empty({0}, std.options());
  return normal_tensor_out(at::scalar_tensor(mean, std.options()), std, gen, out);
}
Tensor& normal_ft_out(c10::DispatchKeySet ks, double mean, const Tensor& std, OptGen gen,
                      Tensor& out) {
  if (!use_rb(gen, out, Fills::floating))
    return at::_ops::normal_float_Tensor_out::redispatch(below(ks), mean, std, gen, out);
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
