// Element samplers of rb's generator, shared by its CPU and CUDA kernels and by users' kernels:
// each maps the Philox words of one element (or one pair) to a value, the same on every device.
#pragma once

#include <cmath>
#include <cstdint>

#include "rb/config.hpp"
#include "rb/convert.hpp"
#include "rb/detail/portable_math.hpp"

namespace rb {

// Note [Element mapping]
// ~~~~~~~~~~~~~~~~~~~~~~
// A call that fills n elements reads the rb stream from its position P and advances it by an
// amount that depends only on n and the element width (SPEC.md "Bits" 4):
//
//   32-bit elements (float32, float16, bfloat16, bool, integers whose range fits 32 bits):
//     element i takes word (i mod 4) of philox(P + floor(i / 4)); the call advances ceil(n / 4).
//   64-bit elements (float64, integers whose range needs more than 32 bits):
//     element i takes words 2(i mod 2) (low) and 2(i mod 2) + 1 (high) of philox(P + floor(i / 2));
//     the call advances ceil(n / 2).
//
// Samplers that transform a pair (Box-Muller: normal, log-normal) take elements 2j and 2j + 1,
// which always share one Philox output. An odd n leaves the last pair's second value unused.
// Each sampler below states its formula; they use only correctly rounded operations and rb's
// portable math (Note [Portable arithmetic]), so a value is the same bits on every CPU and GPU.
// Values are computed in float for elements of 32 bits or fewer and in double for 64-bit ones,
// then rounded to the element type.

// Note [Open uniforms]
// ~~~~~~~~~~~~~~~~~~~~
// Samplers that take a logarithm or a tangent need a uniform that is never 0 nor 1. The open
// uniforms are odd multiples of 2^-24 (float: (2 (w >> 9) + 1) 2^-24) or of 2^-53 (double:
// (2 (x >> 12) + 1) 2^-53): exactly representable, symmetric about 1/2, in [2^-24, 1 - 2^-24].

/// float uniform in (0, 1), never 0 nor 1. See Note [Open uniforms].
RB_HOST_DEVICE constexpr float uniform_open_float(std::uint32_t w) {
  return static_cast<float>(((w >> 9) << 1) | 1u) * 0x1p-24f;
}
/// double uniform in (0, 1), never 0 nor 1. See Note [Open uniforms].
RB_HOST_DEVICE constexpr double uniform_open_double(std::uint64_t x) {
  return detail::exact_double(((x >> 12) << 1) | 1u) * 0x1p-53;
}

namespace detail {

/// ceil(v) for v > 0, exactly (v >= 2^23, resp. 2^52, is integral). For float, t truncates v by
/// a conversion to int32; for double, t is v rounded to an integer by adding and subtracting 2^52
/// (exact: the spacing of doubles in [2^52, 2^53) is 1), because x86 converts doubles to 64-bit
/// integers in vector registers only with AVX-512DQ. t is then an integer within 1 of v, below v
/// only if v is not an integer, and ceil(v) = t < v ? t + 1 : t either way.
RB_HOST_DEVICE RB_FORCE_INLINE float ceil_positive(float v) {
  const float t = static_cast<float>(static_cast<std::int32_t>(select(v < 0x1p23f, v, 0.0f)));
  return select(v < 0x1p23f, select(t < v, add_rn(t, 1.0f), t), v);
}
RB_HOST_DEVICE RB_FORCE_INLINE double ceil_positive(double v) {
  const double t = sub_rn(add_rn(select(v < 0x1p52, v, 0.0), 0x1p52), 0x1p52);
  return select(v < 0x1p52, select(t < v, add_rn(t, 1.0), t), v);
}

}  // namespace detail

/// `u * range + from` rounded twice (no fused multiply-add on any device): the affine map of
/// uniform_ and normal_.
RB_HOST_DEVICE RB_FORCE_INLINE float affine(float u, float range, float from) {
  return detail::add_rn(detail::mul_rn(u, range), from);
}
RB_HOST_DEVICE RB_FORCE_INLINE double affine(double u, double range, double from) {
  return detail::add_rn(detail::mul_rn(u, range), from);
}

/// Box-Muller on the pair (w0, w1): r = sqrt(-2 log u1), theta = 2 pi u2 with u1 the open uniform
/// of w0 and u2 the uniform of w1; element 2j gets r cos theta, element 2j + 1 r sin theta.
RB_HOST_DEVICE RB_FORCE_INLINE void normal_pair(std::uint32_t w0, std::uint32_t w1, float* z0, float* z1) {
  const float r = std::sqrt(detail::mul_rn(-2.0f, detail::log_unit_f32(uniform_open_float(w0))));
  float s, c;
  detail::sincospi_small_f32(detail::mul_rn(2.0f, uniform_float(w1)), &s, &c);
  *z0 = detail::mul_rn(r, c);
  *z1 = detail::mul_rn(r, s);
}
RB_HOST_DEVICE RB_FORCE_INLINE void normal_pair(std::uint64_t x0, std::uint64_t x1, double* z0, double* z1) {
  const double r = std::sqrt(detail::mul_rn(-2.0, detail::log_unit_f64(uniform_open_double(x0))));
  double s, c;
  detail::sincospi_small_f64(detail::mul_rn(2.0, uniform_double(x1)), &s, &c);
  *z0 = detail::mul_rn(r, c);
  *z1 = detail::mul_rn(r, s);
}

/// Exponential with rate lambda: -log(u) / lambda, u the open uniform (so never 0 nor infinite).
RB_HOST_DEVICE RB_FORCE_INLINE float exponential(std::uint32_t w, float lambda) {
  return detail::div_rn(-detail::log_unit_f32(uniform_open_float(w)), lambda);
}
RB_HOST_DEVICE RB_FORCE_INLINE double exponential(std::uint64_t x, double lambda) {
  return detail::div_rn(-detail::log_unit_f64(uniform_open_double(x)), lambda);
}

/// exponential(w, lambda) for a rate that is a power of two whose inverse is a normal number (1,
/// 2, 0.5, ...), given that `inverse`: -log(u) * inverse equals -log(u) / lambda bit for bit
/// (both are the exact quotient, correctly rounded), without the division.
RB_HOST_DEVICE RB_FORCE_INLINE float exponential_pow2(std::uint32_t w, float inverse) {
  return detail::mul_rn(-detail::log_unit_f32(uniform_open_float(w)), inverse);
}
RB_HOST_DEVICE RB_FORCE_INLINE double exponential_pow2(std::uint64_t x, double inverse) {
  return detail::mul_rn(-detail::log_unit_f64(uniform_open_double(x)), inverse);
}

/// Cauchy: median + sigma tan(pi (u - 1/2)) = median + sigma sinpi(u - 1/2) / cospi(u - 1/2), u
/// the open uniform (u - 1/2 is exact, and never +-1/2).
RB_HOST_DEVICE RB_FORCE_INLINE float cauchy(std::uint32_t w, float median, float sigma) {
  float s, c;
  detail::sincospi_small_f32(detail::sub_rn(uniform_open_float(w), 0.5f), &s, &c);
  return detail::add_rn(detail::mul_rn(sigma, detail::div_rn(s, c)), median);
}
RB_HOST_DEVICE RB_FORCE_INLINE double cauchy(std::uint64_t x, double median, double sigma) {
  double s, c;
  detail::sincospi_small_f64(detail::sub_rn(uniform_open_double(x), 0.5), &s, &c);
  return detail::add_rn(detail::mul_rn(sigma, detail::div_rn(s, c)), median);
}

/// Geometric (number of Bernoulli(p) trials up to the first success, >= 1):
/// max(1, ceil(log(u) / log1p(-p))), u the open uniform; `log1p_neg_p` is log1p(-p), computed
/// once per call (it is -inf when p rounds to 1 in float: every draw is then 1).
RB_HOST_DEVICE RB_FORCE_INLINE float geometric(std::uint32_t w, float log1p_neg_p) {
  const float v = detail::ceil_positive(detail::div_rn(detail::log_unit_f32(uniform_open_float(w)), log1p_neg_p));
  return detail::select(v < 1.0f, 1.0f, v);
}
RB_HOST_DEVICE RB_FORCE_INLINE double geometric(std::uint64_t x, double log1p_neg_p) {
  const double v = detail::ceil_positive(detail::div_rn(detail::log_unit_f64(uniform_open_double(x)), log1p_neg_p));
  return detail::select(v < 1.0, 1.0, v);
}

/// Bernoulli(p) from a 32-bit word: w < p 2^32 (exact comparison; resolution 2^-32).
RB_HOST_DEVICE constexpr bool bernoulli(std::uint32_t w, double p) {
  return static_cast<double>(w) < p * 0x1p32;
}
/// Bernoulli(p) from a 64-bit word: uniform_double(x) < p (resolution 2^-53).
RB_HOST_DEVICE constexpr bool bernoulli(std::uint64_t x, double p) { return uniform_double(x) < p; }

}  // namespace rb
