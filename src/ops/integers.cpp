// rb's kernels for random_ (and so randint): integers in a range, by multiply-high, accepting and
// refusing the ranges torch's own kernels accept and refuse.
#include <cstdint>
#include <limits>
#include <optional>

#include <ATen/ATen.h>
#include <ATen/Operators.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include "common.hpp"

namespace rb::detail::ops {

// Note [random_ ranges]
// ~~~~~~~~~~~~~~~~~~~~~
// As torch (ATen/native/DistributionTemplates.h, random_from_to_impl): random_() draws from
// [0, 2^digits] for floating types (every integer the type holds exactly), [0, max] for integers
// and {0, 1} for bool; random_(from, to) from [from, to) and random_(to) from [0, to);
// random_(from, None) from [from, max], max = 2^digits for floating types; random_(-2^63, None)
// from the whole int64 range, for int64, float64, float32 and bfloat16 only. For a floating type
// `from` and `to - 1` may lie anywhere in its finite range: beyond +-2^digits it cannot hold every
// integer, so torch warns, and moves `from` up and `to` down to the nearest values whose rounding
// stays in [from, to) (its update_from / update_to; the rule is below). Integers come by
// multiply-high (Note [Integers by multiply-high]) from 32-bit elements when the range fits 32
// bits and the dtype is not float64, else from 64-bit elements. The whole int64 range takes the
// word itself.

namespace {

/// Significand bits of a floating dtype (std::numeric_limits<T>::digits).
int digits(at::ScalarType t) {
  switch (t) {
    case at::kHalf: return 11;
    case at::kBFloat16: return 8;
    case at::kFloat: return std::numeric_limits<float>::digits;
    default: return std::numeric_limits<double>::digits;
  }
}

/// The smallest value of an integer dtype.
std::int64_t integer_min(at::ScalarType t) {
  switch (t) {
    case at::kBool: case at::kByte: return 0;
    case at::kChar: return std::numeric_limits<std::int8_t>::min();
    case at::kShort: return std::numeric_limits<std::int16_t>::min();
    case at::kInt: return std::numeric_limits<std::int32_t>::min();
    default: return std::numeric_limits<std::int64_t>::min();
  }
}

/// The largest value random_() draws: 2^digits for floating types, else the type's maximum.
std::int64_t random_max(at::ScalarType t) {
  return is_floating(t) ? std::int64_t{1} << digits(t) : integer_max(t);
}

/// `x` as floating dtype `t` holds it (the conversion torch's kernels make), as a double: exact,
/// since every value of `t` is a double. An integer: `t` holds every integer below 2^digits.
double as_dtype(std::int64_t x, at::ScalarType t) {
  switch (t) {
    case at::kHalf: return static_cast<float>(static_cast<c10::Half>(x));
    case at::kBFloat16: return static_cast<float>(static_cast<c10::BFloat16>(x));
    case at::kFloat: return static_cast<float>(x);
    default: return static_cast<double>(x);
  }
}

/// An integer-valued double below 2^63 as an int64 (exactly); 2^63 itself as INT64_MAX.
std::int64_t to_int64(double v) {
  return v >= 0x1p63 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(v);
}

/// The distance between consecutive values of dtype `t` near `x` (x != 0), as torch's rule takes
/// it: 2^(floor(log2 |x|) - digits + 1).
double spacing(std::int64_t x, at::ScalarType t) {
  const std::uint64_t magnitude =
      x < 0 ? 0 - static_cast<std::uint64_t>(x) : static_cast<std::uint64_t>(x);
  const int log2 = 63 - __builtin_clzll(magnitude);
  return std::ldexp(1.0, log2 - digits(t) + 1);
}

// torch's rule (update_from / update_to): if from + 1, converted to the dtype, falls below
// `from`, `from` becomes the next value of the dtype above that conversion; if to - 1, converted,
// reaches `to`, `to` becomes the value of the dtype below that conversion.
std::int64_t raised_from(std::int64_t from, at::ScalarType t) {
  const double v = as_dtype(from + 1, t);
  return to_int64(v) < from ? to_int64(v + spacing(from + 1, t)) : from;
}
std::int64_t lowered_to(std::int64_t to, at::ScalarType t) {
  const double v = as_dtype(to - 1, t);
  return (v >= 0x1p63 || to_int64(v) >= to) ? to_int64(v - spacing(to - 1, t)) : to;
}

/// torch's bounds check of `value` (`from` or `to - 1`): within the dtype's range; for a floating
/// type, a warning beyond +-2^digits, where it cannot hold every integer.
void check_bound(std::int64_t value, const char* name, at::ScalarType t) {
  if (is_floating(t)) {
    const double max = floating_max(t);
    TORCH_CHECK(static_cast<double>(value) >= -max && static_cast<double>(value) <= max,
                "rb: random_: ", name, "=", value, " is out of bounds for ", t);
    const int d = digits(t);
    if (value < -(std::int64_t{1} << d) || value > (std::int64_t{1} << d)) {
      TORCH_WARN("rb: random_: ", name, " is out of bounds [-(2^", d, "), 2^", d, "]: ", t,
                 " cannot hold every integer beyond, so the draws are uniform integers rounded to ",
                 t, ".");
    }
  } else {
    TORCH_CHECK(value >= integer_min(t) && value <= integer_max(t), "rb: random_: ", name, "=",
                value, " is out of bounds for ", t);
  }
}

/// random_(from, to) and random_(from, None), after torch's checks and adjustments.
void draw_range(Tensor& self, std::int64_t from, std::optional<std::int64_t> to,
                const OptGen& gen) {
  check_supported(self, "random_");
  const at::ScalarType t = self.scalar_type();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  if (to.has_value()) {  // [from, to)
    std::int64_t high = *to;
    TORCH_CHECK(from < high, "rb: random_ expects from < to, got from=", from, " >= to=", high);
    if (is_floating(t)) {
      from = raised_from(from, t);
      high = lowered_to(high, t);
      TORCH_CHECK(from < high, "rb: random_ expects from < to once both are rounded to ", t,
                  ", got from=", from, " >= to=", high);
    }
    check_bound(from, "from", t);
    check_bound(high - 1, "to - 1", t);
    fill_random(self, from, static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(from),
                gen, "random_");
  } else if (from != kMin) {  // [from, max]
    const std::int64_t max = random_max(t);
    if (is_floating(t)) {
      TORCH_CHECK(from < max, "rb: random_ expects from < ", max, " for ", t, ", got from=", from);
      from = raised_from(from, t);
      TORCH_CHECK(from < max, "rb: random_ expects from < ", max, " once rounded to ", t,
                  ", got from=", from);
    }
    check_bound(from, "from", t);
    check_bound(max, "to - 1", t);
    fill_random(self, from, static_cast<std::uint64_t>(max) - static_cast<std::uint64_t>(from) + 1,
                gen, "random_");
  } else {  // the whole int64 range: 2^64 values, written as range 0
    TORCH_CHECK(t == at::kLong || t == at::kDouble || t == at::kFloat || t == at::kBFloat16,
                "rb: random_(from=-2^63, to=None) draws the whole int64 range, which torch allows "
                "for int64, float64, float32 and bfloat16, not ", t);
    fill_random(self, kMin, 0, gen, "random_");
  }
}

}  // namespace

std::int64_t integer_max(at::ScalarType t) {
  switch (t) {
    case at::kBool: return 1;
    case at::kByte: return std::numeric_limits<std::uint8_t>::max();
    case at::kChar: return std::numeric_limits<std::int8_t>::max();
    case at::kShort: return std::numeric_limits<std::int16_t>::max();
    case at::kInt: return std::numeric_limits<std::int32_t>::max();
    default: return std::numeric_limits<std::int64_t>::max();
  }
}

void fill_random(Tensor& self, std::int64_t from, std::uint64_t range, const OptGen& gen,
                 const char* op) {
  const bool wide = is_double(self) || range == 0 || range > (std::uint64_t{1} << 32);
  FillRequest r = request(Sampler::random_range, wide);
  r.from = from;
  r.range = range;
  fill(self, r, gen, op);
}

namespace {

Tensor& random_(c10::DispatchKeySet ks, Tensor& self, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported))
    return at::_ops::random_::redispatch(below(ks), self, gen);
  check_supported(self, "random_");
  fill_random(self, 0, static_cast<std::uint64_t>(random_max(self.scalar_type())) + 1, gen,
              "random_");
  return self;
}

Tensor& random_from_(c10::DispatchKeySet ks, Tensor& self, std::int64_t from,
                     std::optional<std::int64_t> to, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported))
    return at::_ops::random__from::redispatch(below(ks), self, from, to, gen);
  draw_range(self, from, to, gen);
  return self;
}

Tensor& random_to_(c10::DispatchKeySet ks, Tensor& self, std::int64_t to, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported))
    return at::_ops::random__to::redispatch(below(ks), self, to, gen);
  draw_range(self, 0, to, gen);
  return self;
}

}  // namespace
}  // namespace rb::detail::ops

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  using namespace rb::detail::ops;
  m.impl("random_", TORCH_FN(random_));
  m.impl("random_.from", TORCH_FN(random_from_));
  m.impl("random_.to", TORCH_FN(random_to_));
}
