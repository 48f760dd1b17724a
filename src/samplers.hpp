// The element functors of rb's generator and the dispatch from a FillRequest to them, shared by
// the CPU kernels (src/cpu/fill_kernels.hpp) and the CUDA kernels (cuda/fill.cu): one definition
// of every value, so both devices compute the same bits. See Note [Element mapping].
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include "fill.hpp"
#include "rb/sampling.hpp"

namespace rb::detail {

template <class T>
inline constexpr bool kIsFloating = std::is_floating_point_v<T> || std::is_same_v<T, c10::Half> ||
                                    std::is_same_v<T, c10::BFloat16>;

// A functor over one element takes its word(s) and its index e (used by bernoulli_tensor only).
// A pair functor writes the values of elements 2j and 2j + 1 in the compute type; the loops round
// them to T.

/// The uniform in [0, 1) of a 32-bit word for element type T, as a float: each type takes the top
/// bits of its precision (Note [Uniform from the high bits]), so the float is exactly a T.
template <class T>
RB_HOST_DEVICE RB_FORCE_INLINE float unit_uniform32(std::uint32_t w) {
  if constexpr (std::is_same_v<T, c10::Half>) {
    return uniform_half(w);
  } else if constexpr (std::is_same_v<T, c10::BFloat16>) {
    return uniform_bfloat16(w);
  } else {
    return uniform_float(w);
  }
}

/// uniform in [from, to), 32-bit elements: unit_uniform32 mapped affinely; if rounding to T carries
/// the value up to `to`, it takes `from`.
template <class T>
struct Uniform32 {
  float from, range, to;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint32_t w, std::int64_t) const {
    const T t = static_cast<T>(affine(unit_uniform32<T>(w), range, from));
    return static_cast<float>(t) < to ? t : static_cast<T>(from);
  }
};
/// uniform in [0, 1), the default of uniform_ and torch.rand: Uniform32 and Uniform64 with
/// from = 0, range = 1 compute u * 1 + 0 = u, always below 1, so the same bits without the affine
/// map and the clamp.
template <class T>
struct UniformUnit32 {
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint32_t w, std::int64_t) const {
    return static_cast<T>(unit_uniform32<T>(w));
  }
};
struct UniformUnit64 {
  RB_HOST_DEVICE RB_FORCE_INLINE double operator()(std::uint64_t x, std::int64_t) const { return uniform_double(x); }
};
struct Uniform64 {
  double from, range, to;
  RB_HOST_DEVICE RB_FORCE_INLINE double operator()(std::uint64_t x, std::int64_t) const {
    const double v = affine(uniform_double(x), range, from);
    return v < to ? v : from;
  }
};

/// normal(mean, std) or, with kLog, exp(normal(mean, std)): Box-Muller pairs, then z std + mean.
/// With kUnitStd (std == 1, torch.randn's), z + mean: z * 1 is z exactly, so the same bits without
/// the multiplication. (Template parameters, so that the vectorized loops carry no branch.)
template <class T>
RB_HOST_DEVICE RB_FORCE_INLINE T scaled_normal(T z, T mean, T /*scale: 1*/, std::true_type /*unit std*/) {
  return detail::add_rn(z, mean);
}
template <class T>
RB_HOST_DEVICE RB_FORCE_INLINE T scaled_normal(T z, T mean, T scale, std::false_type) {
  return affine(z, scale, mean);
}
template <bool kLog, bool kUnitStd = false>
struct NormalPair32 {
  float mean, std;
  RB_HOST_DEVICE RB_FORCE_INLINE void operator()(std::uint32_t w0, std::uint32_t w1, float* v0, float* v1) const {
    float z0, z1;
    normal_pair(w0, w1, &z0, &z1);
    z0 = scaled_normal(z0, mean, std, std::bool_constant<kUnitStd>{});
    z1 = scaled_normal(z1, mean, std, std::bool_constant<kUnitStd>{});
    if constexpr (kLog) {
      z0 = exp_f32(z0);
      z1 = exp_f32(z1);
    }
    *v0 = z0;
    *v1 = z1;
  }
};
template <bool kLog, bool kUnitStd = false>
struct NormalPair64 {
  double mean, std;
  RB_HOST_DEVICE RB_FORCE_INLINE void operator()(std::uint64_t x0, std::uint64_t x1, double* v0, double* v1) const {
    double z0, z1;
    normal_pair(x0, x1, &z0, &z1);
    z0 = scaled_normal(z0, mean, std, std::bool_constant<kUnitStd>{});
    z1 = scaled_normal(z1, mean, std, std::bool_constant<kUnitStd>{});
    if constexpr (kLog) {
      z0 = exp_f64(z0);
      z1 = exp_f64(z1);
    }
    *v0 = z0;
    *v1 = z1;
  }
};

/// exponential(w, lambda), or with kPow2, exponential_pow2(w, lambda), lambda then holding the
/// inverse of the rate (exponential_inverse tells when that applies).
template <class T, bool kPow2>
struct Exponential32 {
  float lambda;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint32_t w, std::int64_t) const {
    return static_cast<T>(kPow2 ? exponential_pow2(w, lambda) : exponential(w, lambda));
  }
};
template <bool kPow2>
struct Exponential64 {
  double lambda;
  RB_HOST_DEVICE RB_FORCE_INLINE double operator()(std::uint64_t x, std::int64_t) const {
    return kPow2 ? exponential_pow2(x, lambda) : exponential(x, lambda);
  }
};

/// Whether rate `lambda` (> 0) is a power of two with a normal inverse, and that inverse: then
/// exponential_pow2 gives exponential's bits.
template <class V>
bool exponential_inverse(V lambda, V* inverse) {
  int exponent = 0;
  if (!(std::frexp(lambda, &exponent) == V(0.5))) return false;  // lambda = 2^(exponent - 1)
  *inverse = V(1) / lambda;
  return std::isnormal(*inverse);
}

template <class T>
struct Cauchy32 {
  float median, sigma;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint32_t w, std::int64_t) const {
    return static_cast<T>(cauchy(w, median, sigma));
  }
};
struct Cauchy64 {
  double median, sigma;
  RB_HOST_DEVICE RB_FORCE_INLINE double operator()(std::uint64_t x, std::int64_t) const { return cauchy(x, median, sigma); }
};

/// A value computed in float or double, as T (through float for the 16-bit floating types).
template <class T, class V>
RB_HOST_DEVICE T to_element(V v) {
  if constexpr (std::is_same_v<T, c10::Half> || std::is_same_v<T, c10::BFloat16>) {
    return static_cast<T>(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}

/// A count (>= 1) as T: integer types saturate at their maximum, so a huge geometric draw is the
/// same bits on every device (a CPU conversion would be undefined, a GPU one saturates).
template <class T, class V>
RB_HOST_DEVICE T count_element(V v) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // The largest T, from bits (std::numeric_limits is not device code); as V it is a power of
    // two or exact (255, 127, ...), so the comparison is exact.
    constexpr T kMaxT = static_cast<T>(static_cast<std::make_unsigned_t<T>>(~std::make_unsigned_t<T>{0}) >>
                                       (std::is_signed_v<T> ? 1 : 0));
    return v >= static_cast<V>(kMaxT) ? kMaxT : static_cast<T>(v);
  } else {
    return to_element<T>(v);
  }
}

template <class T>
struct Geometric32 {
  float log1p_neg_p;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint32_t w, std::int64_t) const {
    return count_element<T>(geometric(w, log1p_neg_p));
  }
};
template <class T>
struct Geometric64 {
  double log1p_neg_p;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint64_t x, std::int64_t) const {
    return count_element<T>(geometric(x, log1p_neg_p));
  }
};

template <class T>
struct Bernoulli32 {
  double p;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint32_t w, std::int64_t) const {
    return static_cast<T>(bernoulli(w, p) ? 1 : 0);
  }
};
/// Bernoulli32 with the comparison moved to the integers: for an integer w, w < t (t = p 2^32, a
/// double) holds iff w < ceil(t), that is w <= last = ceil(t) - 1 when 1 <= ceil(t) <= 2^32 (the
/// dispatch keeps Bernoulli32 for t <= 0). The same bits, without a conversion to double per word.
template <class T>
struct BernoulliBelow32 {
  std::uint32_t last;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint32_t w, std::int64_t) const {
    return static_cast<T>(w <= last ? 1 : 0);
  }
  /// The functor for probability p if p 2^32 > 0, through `out`; false otherwise.
  static bool make(double p, BernoulliBelow32* out) {
    const double t = p * 0x1p32;
    if (!(t > 0)) return false;
    const double threshold = t >= 0x1p32 ? 0x1p32 : std::ceil(t);  // in [1, 2^32], an integer
    out->last = static_cast<std::uint32_t>(static_cast<std::uint64_t>(threshold) - 1);
    return true;
  }
};
template <class T>
struct Bernoulli64 {
  double p;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint64_t x, std::int64_t) const {
    return static_cast<T>(bernoulli(x, p) ? 1 : 0);
  }
};
template <class T>
struct BernoulliTensor32 {
  const double* p;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint32_t w, std::int64_t e) const {
    return static_cast<T>(bernoulli(w, p[e]) ? 1 : 0);
  }
};
template <class T>
struct BernoulliTensor64 {
  const double* p;
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint64_t x, std::int64_t e) const {
    return static_cast<T>(bernoulli(x, p[e]) ? 1 : 0);
  }
};

/// Integers in [from, from + range) by multiply-high (Note [Integers by multiply-high]).
template <class T>
struct Random32 {
  std::int64_t from;
  std::uint64_t range;  // 1 .. 2^32
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint32_t w, std::int64_t) const {
    return to_element<T>(from + static_cast<std::int64_t>(bounded32(w, range)));
  }
};
template <class T>
struct Random64 {
  std::int64_t from;
  std::uint64_t range;  // 0 means 2^64: the word itself
  RB_HOST_DEVICE RB_FORCE_INLINE T operator()(std::uint64_t x, std::int64_t) const {
    const std::uint64_t offset = range == 0 ? x : bounded64(x, range);
    return to_element<T>(static_cast<std::int64_t>(static_cast<std::uint64_t>(from) + offset));
  }
};

/// Calls the matching loop of `loops` (map32, map64, pairs32, pairs64, each a template on the
/// element type) with the functor of request `r` for element type T.
template <class T, class Loops>
void dispatch_sampler(const FillRequest& r, Loops& loops) {
  if constexpr (kIsFloating<T>) {
    constexpr bool kDouble = std::is_same_v<T, double>;
    switch (r.sampler) {
      case Sampler::uniform:
        if (r.a == 0 && r.b == 1) {
          if constexpr (kDouble) {
            return loops.template map64<T>(UniformUnit64{});
          } else {
            return loops.template map32<T>(UniformUnit32<T>{});
          }
        }
        if constexpr (kDouble) {
          return loops.template map64<T>(Uniform64{r.a, r.b - r.a, r.b});
        } else {
          return loops.template map32<T>(Uniform32<T>{static_cast<float>(r.a),
                                                       static_cast<float>(r.b - r.a),
                                                       static_cast<float>(r.b)});
        }
      case Sampler::normal:
        if (r.b == 1) {
          if constexpr (kDouble) {
            return loops.template pairs64<T>(NormalPair64<false, true>{r.a, 1});
          } else {
            return loops.template pairs32<T>(NormalPair32<false, true>{static_cast<float>(r.a), 1});
          }
        }
        if constexpr (kDouble) {
          return loops.template pairs64<T>(NormalPair64<false>{r.a, r.b});
        } else {
          return loops.template pairs32<T>(NormalPair32<false>{static_cast<float>(r.a), static_cast<float>(r.b)});
        }
      case Sampler::log_normal:
        if constexpr (kDouble) {
          return loops.template pairs64<T>(NormalPair64<true>{r.a, r.b});
        } else {
          return loops.template pairs32<T>(NormalPair32<true>{static_cast<float>(r.a), static_cast<float>(r.b)});
        }
      case Sampler::exponential:
        if constexpr (kDouble) {
          if (double inverse; exponential_inverse(r.a, &inverse)) {
            return loops.template map64<T>(Exponential64<true>{inverse});
          }
          return loops.template map64<T>(Exponential64<false>{r.a});
        } else {
          if (float inverse; exponential_inverse(static_cast<float>(r.a), &inverse)) {
            return loops.template map32<T>(Exponential32<T, true>{inverse});
          }
          return loops.template map32<T>(Exponential32<T, false>{static_cast<float>(r.a)});
        }
      case Sampler::cauchy:
        if constexpr (kDouble) {
          return loops.template map64<T>(Cauchy64{r.a, r.b});
        } else {
          return loops.template map32<T>(Cauchy32<T>{static_cast<float>(r.a), static_cast<float>(r.b)});
        }
      default:
        break;
    }
  }
  switch (r.sampler) {
    case Sampler::geometric:
      if (r.wide) return loops.template map64<T>(Geometric64<T>{r.a});
      return loops.template map32<T>(Geometric32<T>{static_cast<float>(r.a)});
    case Sampler::bernoulli:
      if (r.wide) return loops.template map64<T>(Bernoulli64<T>{r.a});
      if (BernoulliBelow32<T> below; BernoulliBelow32<T>::make(r.a, &below)) {
        return loops.template map32<T>(below);
      }
      return loops.template map32<T>(Bernoulli32<T>{r.a});
    case Sampler::bernoulli_tensor:
      if (r.wide) return loops.template map64<T>(BernoulliTensor64<T>{r.p});
      return loops.template map32<T>(BernoulliTensor32<T>{r.p});
    case Sampler::random_range:
      if (r.wide) return loops.template map64<T>(Random64<T>{r.from, r.range});
      return loops.template map32<T>(Random32<T>{r.from, r.range});
    default:
      break;  // the op layer never sends a floating sampler with an integral type
  }
}

/// dispatch_sampler for the request's dtype (the types the op layer sends).
template <class Loops>
void dispatch_fill(const FillRequest& r, Loops& loops) {
  switch (r.dtype) {
    case c10::ScalarType::Float: return dispatch_sampler<float>(r, loops);
    case c10::ScalarType::Double: return dispatch_sampler<double>(r, loops);
    case c10::ScalarType::Half: return dispatch_sampler<c10::Half>(r, loops);
    case c10::ScalarType::BFloat16: return dispatch_sampler<c10::BFloat16>(r, loops);
    case c10::ScalarType::Byte: return dispatch_sampler<std::uint8_t>(r, loops);
    case c10::ScalarType::Char: return dispatch_sampler<std::int8_t>(r, loops);
    case c10::ScalarType::Short: return dispatch_sampler<std::int16_t>(r, loops);
    case c10::ScalarType::Int: return dispatch_sampler<std::int32_t>(r, loops);
    case c10::ScalarType::Long: return dispatch_sampler<std::int64_t>(r, loops);
    case c10::ScalarType::Bool: return dispatch_sampler<bool>(r, loops);
    default: break;
  }
}

}  // namespace rb::detail
