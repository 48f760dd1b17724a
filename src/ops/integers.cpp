// rb's kernels for random_ (and so randint): integers in a range, by multiply-high.
#include <cstdint>
#include <limits>
#include <optional>

#include <ATen/ATen.h>
#include <ATen/Operators.h>
#include <torch/library.h>

#include "common.hpp"

namespace rb::detail::ops {

// Note [random_ ranges]
// ~~~~~~~~~~~~~~~~~~~~~
// As torch: random_() draws from [0, 2^digits] for floating types (every integer the type holds
// exactly), [0, max] for integers and {0, 1} for bool; random_(from, to) from [from, to);
// random_(from, None) from [from, max] (2^digits for floating types). Integers come by multiply-high
// (Note [Integers by multiply-high]) from 32-bit elements when the range fits 32 bits and the
// dtype is not float64, else from 64-bit elements. The full int64 range takes the word itself.

std::int64_t type_max(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return std::int64_t{1} << std::numeric_limits<float>::digits;
    case at::kDouble: return std::int64_t{1} << std::numeric_limits<double>::digits;
    case at::kHalf: return std::int64_t{1} << 11;
    case at::kBFloat16: return std::int64_t{1} << 8;
    case at::kBool: return 1;
    case at::kByte: return std::numeric_limits<std::uint8_t>::max();
    case at::kChar: return std::numeric_limits<std::int8_t>::max();
    case at::kShort: return std::numeric_limits<std::int16_t>::max();
    case at::kInt: return std::numeric_limits<std::int32_t>::max();
    default: return std::numeric_limits<std::int64_t>::max();
  }
}
namespace {

std::int64_t type_min(at::ScalarType t) {
  switch (t) {
    case at::kFloat: case at::kDouble: case at::kHalf: case at::kBFloat16:
      return -type_max(t);
    case at::kBool: case at::kByte: return 0;
    case at::kChar: return std::numeric_limits<std::int8_t>::min();
    case at::kShort: return std::numeric_limits<std::int16_t>::min();
    case at::kInt: return std::numeric_limits<std::int32_t>::min();
    default: return std::numeric_limits<std::int64_t>::min();
  }
}

}  // namespace

void fill_random(Tensor& self, std::int64_t from, std::uint64_t range, const OptGen& gen, const char* op) {
  const bool wide = is_double(self) || range == 0 || range > (std::uint64_t{1} << 32);
  FillRequest r = request(Sampler::random_range, wide);
  r.from = from;
  r.range = range;
  fill(self, r, gen, op);
}

namespace {

Tensor& random_(c10::DispatchKeySet ks, Tensor& self, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::random_::redispatch(below(ks), self, gen);
  check_supported(self, "random_");
  const std::uint64_t max = static_cast<std::uint64_t>(type_max(self.scalar_type()));
  fill_random(self, 0, max + 1, gen, "random_");
  return self;
}

Tensor& random_from_(c10::DispatchKeySet ks, Tensor& self, std::int64_t from,
                     std::optional<std::int64_t> to, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::random__from::redispatch(below(ks), self, from, to, gen);
  check_supported(self, "random_");
  const at::ScalarType t = self.scalar_type();
  TORCH_CHECK(from >= type_min(t) && from <= type_max(t), "rb: random_ expects 'from' within the range of ",
              t, ", got from=", from);
  std::uint64_t range;
  if (to.has_value()) {
    TORCH_CHECK(from < *to, "rb: random_ expects from < to, got from=", from, " >= to=", *to);
    TORCH_CHECK(*to - 1 <= type_max(t), "rb: random_ expects 'to - 1' within the range of ", t,
                ", got to=", *to);
    range = static_cast<std::uint64_t>(*to) - static_cast<std::uint64_t>(from);
  } else {
    // [from, max]: the whole int64 range is 2^64 values, written as 0.
    range = static_cast<std::uint64_t>(type_max(t)) - static_cast<std::uint64_t>(from) + 1;
  }
  fill_random(self, from, range, gen, "random_");
  return self;
}

Tensor& random_to_(c10::DispatchKeySet ks, Tensor& self, std::int64_t to, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::random__to::redispatch(below(ks), self, to, gen);
  check_supported(self, "random_");
  TORCH_CHECK(to > 0, "rb: random_ expects to > 0, got to=", to);
  TORCH_CHECK(to - 1 <= type_max(self.scalar_type()), "rb: random_ expects 'to - 1' within the range of ",
              self.scalar_type(), ", got to=", to);
  fill_random(self, 0, static_cast<std::uint64_t>(to), gen, "random_");
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
