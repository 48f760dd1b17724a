// The shortcuts the samplers take through rb's portable math (log_unit, sincospi_small,
// exponential_pow2) give the bits of the general functions on every input a sampler can pass
// them: every one for float (2^23 or 2^24 inputs each), 2^22 random words for double.
#include <cstdint>
#include <random>

#include <gtest/gtest.h>

#include "rb/detail/portable_math.hpp"
#include "rb/sampling.hpp"

namespace rb {
namespace {

using detail::bits_of;

// Words whose open uniform (Note [Open uniforms]) and uniform cover every value those take:
// the top 23 bits of w decide uniform_open_float, the top 24 uniform_float.
std::uint32_t word_with_top_bits(std::uint32_t top, int bits) { return top << (32 - bits); }

TEST(SamplerShortcuts, LogUnitIsLogOnEveryOpenUniformFloat) {
  for (std::uint32_t k = 0; k < (1u << 23); ++k) {
    const float u = uniform_open_float(word_with_top_bits(k, 23));
    ASSERT_EQ(bits_of(detail::log_unit_f32(u)), bits_of(detail::log_f32(u))) << "u=" << u;
  }
}

TEST(SamplerShortcuts, SincospiSmallIsSincospiOnEveryAngleOfTheFloatSamplers) {
  auto check = [](float x) {
    float s, c, s_small, c_small;
    detail::sincospi_f32(x, &s, &c);
    detail::sincospi_small_f32(x, &s_small, &c_small);
    ASSERT_EQ(bits_of(s_small), bits_of(s)) << "x=" << x;
    ASSERT_EQ(bits_of(c_small), bits_of(c)) << "x=" << x;
  };
  for (std::uint32_t k = 0; k < (1u << 24); ++k) {  // normal: 2 u, u = uniform_float
    ASSERT_NO_FATAL_FAILURE(check(detail::mul_rn(2.0f, uniform_float(word_with_top_bits(k, 24)))));
  }
  for (std::uint32_t k = 0; k < (1u << 23); ++k) {  // cauchy: u - 1/2, u = uniform_open_float
    ASSERT_NO_FATAL_FAILURE(check(detail::sub_rn(uniform_open_float(word_with_top_bits(k, 23)), 0.5f)));
  }
  // The edges of |x| < 2, and zeros of both signs.
  for (float x : {-0.0f, 0.0f, 0x1.fffffep0f, -0x1.fffffep0f, 0x1p-149f, -0x1p-149f}) {
    ASSERT_NO_FATAL_FAILURE(check(x));
  }
}

TEST(SamplerShortcuts, DoubleShortcutsGiveTheGeneralBits) {
  std::mt19937_64 rng(26);
  for (int i = 0; i < (1 << 22); ++i) {
    const std::uint64_t x = rng();
    const double open = uniform_open_double(x);
    ASSERT_EQ(bits_of(detail::log_unit_f64(open)), bits_of(detail::log_f64(open))) << open;
    for (double angle : {detail::mul_rn(2.0, uniform_double(x)), detail::sub_rn(open, 0.5)}) {
      double s, c, s_small, c_small;
      detail::sincospi_f64(angle, &s, &c);
      detail::sincospi_small_f64(angle, &s_small, &c_small);
      ASSERT_EQ(bits_of(s_small), bits_of(s)) << angle;
      ASSERT_EQ(bits_of(c_small), bits_of(c)) << angle;
    }
  }
  // The extremes of the open uniform: 2^-53 and 1 - 2^-53.
  for (std::uint64_t x : {std::uint64_t{0}, ~std::uint64_t{0}}) {
    const double open = uniform_open_double(x);
    EXPECT_EQ(bits_of(detail::log_unit_f64(open)), bits_of(detail::log_f64(open))) << open;
  }
}

TEST(SamplerShortcuts, ExponentialByAPowerOfTwoRateMultipliesByItsInverse) {
  std::mt19937_64 rng(27);
  for (double lambda : {1.0, 2.0, 0.5, 0x1p-20, 0x1p100, 0x1p-1000}) {
    const double inverse = 1 / lambda;
    const float lambda32 = static_cast<float>(lambda), inverse32 = 1 / lambda32;
    const bool float_normal = inverse32 > 0 && inverse32 < 0x1p127f;
    for (int i = 0; i < (1 << 16); ++i) {
      const std::uint64_t x = rng();
      ASSERT_EQ(bits_of(exponential_pow2(x, inverse)), bits_of(exponential(x, lambda))) << lambda;
      const auto w = static_cast<std::uint32_t>(x);
      if (float_normal && lambda32 > 0 && lambda32 < 0x1p127f) {
        ASSERT_EQ(bits_of(exponential_pow2(w, inverse32)), bits_of(exponential(w, lambda32))) << lambda;
      }
    }
  }
}

}  // namespace
}  // namespace rb
