// Bits-to-value conversions of SPEC.md "Bits" 4, shared by rb's generator and users' kernels.
// Every function is exact integer or exactly rounded arithmetic, so host and device agree bit for bit.
#pragma once

#include <cstdint>

#include "rb/config.hpp"
#include "rb/philox.hpp"

namespace rb {

// Note [Uniform from the high bits]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A uniform of a floating type with p bits of precision takes the top p bits of its word, k, and
// returns k * 2^-p: every value is exactly representable, the grid is even, 0 is reachable and 1
// never is. The top bits are used because they are the best-mixed in any generator (and the
// convention of Random123's u01fixedpt and of most GPU libraries).

/// float32 uniform in [0, 1): (w >> 8) * 2^-24.
RB_HOST_DEVICE constexpr float uniform_float(std::uint32_t w) {
  return static_cast<float>(w >> 8) * 0x1p-24f;
}
/// float16 uniform in [0, 1), as the float it rounds to exactly: (w >> 21) * 2^-11.
RB_HOST_DEVICE constexpr float uniform_half(std::uint32_t w) {
  return static_cast<float>(w >> 21) * 0x1p-11f;
}
/// bfloat16 uniform in [0, 1), as the float it rounds to exactly: (w >> 24) * 2^-8.
RB_HOST_DEVICE constexpr float uniform_bfloat16(std::uint32_t w) {
  return static_cast<float>(w >> 24) * 0x1p-8f;
}

namespace detail {

/// v as a double, exactly, for v < 2^53. x86 converts 64-bit integers in vector registers only
/// with AVX-512DQ, so elsewhere v is built from its halves by the bits of doubles: with h = v >> 32
/// and l its low 32 bits, the bits 0x453 << 52 | h are the double 2^84 + h 2^32 and 0x433 << 52 | l
/// the double 2^52 + l; (2^84 + h 2^32) - (2^84 + 2^52) = h 2^32 - 2^52 and the sum with 2^52 + l
/// are exact (their values are integers below 2^53). The same value, from 64-bit integer and
/// floating-point lane operations only, so a loop of it vectorizes with AVX2 without shuffles.
RB_HOST_DEVICE constexpr double exact_double(std::uint64_t v) {
#if RB_DEVICE_CODE || defined(__AVX512DQ__)
  return static_cast<double>(v);
#else
  const double high = __builtin_bit_cast(double, 0x4530000000000000ull | (v >> 32)) - 0x1.00000001p84;
  return high + __builtin_bit_cast(double, 0x4330000000000000ull | lo32(v));
#endif
}

}  // namespace detail

/// float64 uniform in [0, 1): (x >> 11) * 2^-53, for the 64-bit word x.
RB_HOST_DEVICE constexpr double uniform_double(std::uint64_t x) {
  return detail::exact_double(x >> 11) * 0x1p-53;
}

/// The 64-bit word of 64-bit element `j` of a Philox output: words 2j (low) and 2j+1 (high),
/// j in {0, 1}. See SPEC.md "Bits" 4.
RB_HOST_DEVICE constexpr std::uint64_t word64(const Counter& out, unsigned j) {
  return join64(out.v[2 * j], out.v[2 * j + 1]);
}

/// The high 64 bits of the 128-bit product a * b.
RB_HOST_DEVICE inline std::uint64_t mulhi64(std::uint64_t a, std::uint64_t b) {
#if RB_DEVICE_CODE
  return __umul64hi(a, b);
#elif defined(__SIZEOF_INT128__)
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#else
  const std::uint64_t a_lo = lo32(a), a_hi = hi32(a), b_lo = lo32(b), b_hi = hi32(b);
  const std::uint64_t mid1 = a_hi * b_lo + ((a_lo * b_lo) >> 32);
  const std::uint64_t mid2 = a_lo * b_hi + lo32(mid1);
  return a_hi * b_hi + (mid1 >> 32) + (mid2 >> 32);
#endif
}

// Note [Integers by multiply-high]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// An integer in [0, range) is floor(w * range / 2^32) for a 32-bit word w (range <= 2^32), or
// floor(x * range / 2^64) for a 64-bit word x. There is no rejection, so every call advances the
// stream by a fixed amount. The price is a bias: some values are hit floor(2^32 / range) times and
// the others once more, a relative bias of at most range / 2^32 (range / 2^64 for 64-bit words):
// below 2.4e-7 for any range up to 1000 drawn from 32 bits. rb draws from 64-bit words whenever
// range exceeds 2^32 or the element is a float64 (SPEC.md "Bits" 4): an int64 tensor with a range
// of at most 2^32 takes 32-bit words.

/// An integer in [0, range) from a 32-bit word, 1 <= range <= 2^32. See Note [Integers by multiply-high].
RB_HOST_DEVICE constexpr std::uint32_t bounded32(std::uint32_t w, std::uint64_t range) {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(w) * range) >> 32);
}
/// An integer in [0, range) from a 64-bit word, range >= 1. See Note [Integers by multiply-high].
RB_HOST_DEVICE inline std::uint64_t bounded64(std::uint64_t x, std::uint64_t range) {
  return mulhi64(x, range);
}

}  // namespace rb
