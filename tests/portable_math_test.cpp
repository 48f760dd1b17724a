// rb's portable math (rb/detail/portable_math.hpp): the error against a high-precision reference
// (long double for float, libquadmath's __float128 for double) over dense grids, exhaustive ranges
// and random inputs; special values; and the same bits from the scalar, AVX2 and AVX-512 builds of
// the same loops (portable_math_isa.cpp). Run with --gtest_also_run_disabled_tests for the
// exhaustive check of every float input (minutes).
#include <quadmath.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rb/detail/portable_math.hpp"

namespace rb::test {
// The loops of portable_math_isa.cpp, once per instruction set.
#define RB_DECLARE_ISA(isa)                                                              \
  void log_f32_##isa(const float* x, float* y, std::size_t n);                           \
  void log1p_f32_##isa(const float* x, float* y, std::size_t n);                         \
  void exp_f32_##isa(const float* x, float* y, std::size_t n);                           \
  void sincospi_f32_##isa(const float* x, float* s, float* c, std::size_t n);            \
  void log_f64_##isa(const double* x, double* y, std::size_t n);                         \
  void log1p_f64_##isa(const double* x, double* y, std::size_t n);                       \
  void exp_f64_##isa(const double* x, double* y, std::size_t n);                         \
  void sincospi_f64_##isa(const double* x, double* s, double* c, std::size_t n);
RB_DECLARE_ISA(scalar)
RB_DECLARE_ISA(avx2)
RB_DECLARE_ISA(avx512)
#undef RB_DECLARE_ISA
}  // namespace rb::test

namespace rb::detail {
namespace {

using Quad = __float128;

std::uint32_t bits(float x) { return bits_of(x); }
std::uint64_t bits(double x) { return bits_of(x); }

// ---- references --------------------------------------------------------------------------------

long double ref_log(float x) { return logl(x); }
long double ref_log1p(float x) { return log1pl(x); }
long double ref_exp(float x) { return expl(x); }
Quad ref_log(double x) { return logq(x); }
Quad ref_log1p(double x) { return log1pq(x); }
Quad ref_exp(double x) { return expq(x); }

// sin(pi x) and cos(pi x) with an exact reduction, as in Note [Exact reduction of sincospi]: only
// the final sin/cos of pi r, |r| <= 1/4, rounds.
template <class R>
void ref_sincospi(R x, R pi, R (*sin_f)(R), R (*cos_f)(R), R* s, R* c) {
  const R d = x - 2 * std::nearbyint(static_cast<double>(x / 2));  // exact for |x| < 2^53
  const R n = static_cast<R>(std::nearbyint(static_cast<double>(2 * d)));
  const R r = d - n / 2;
  const R sr = sin_f(pi * r), cr = cos_f(pi * r);
  const int q = (static_cast<int>(n) % 4 + 4) % 4;
  const R sins[4] = {sr, cr, -sr, -cr}, coss[4] = {cr, -sr, -cr, sr};
  *s = sins[q];
  *c = coss[q];
}
void ref_sincospi(float x, long double* s, long double* c) {
  // Floats of magnitude >= 2^24 are even integers; the reduction above needs |x| < 2^53 anyway.
  const long double xr = std::fabs(x) >= 0x1p24f ? 0.0L : static_cast<long double>(x);
  ref_sincospi<long double>(xr, 3.141592653589793238462643383279502884L, ::sinl, ::cosl, s, c);
  if (std::signbit(x) && *s == 0) *s = -*s;
}
void ref_sincospi(double x, Quad* s, Quad* c) {
  const Quad xr = std::fabs(x) >= 0x1p53 ? Quad(0) : Quad(x);
  static const Quad kPi = acosq(Quad(-1));
  ref_sincospi<Quad>(xr, kPi, ::sinq, ::cosq, s, c);
  if (std::signbit(x) && *s == 0) *s = -*s;
}

// ---- error measures ----------------------------------------------------------------------------

template <class T>
struct Traits;
template <>
struct Traits<float> {
  using Ref = long double;
  static constexpr int kPrecision = 24;
  static constexpr int kMinExponent = -125;  // frexp exponent of FLT_MIN
  static int exponent(Ref v) { int e; frexpl(v, &e); return e; }
  static Ref scale(Ref v, int e) { return ldexpl(v, e); }
  static std::string str(Ref v) { char b[64]; std::snprintf(b, sizeof b, "%.21Lg", v); return b; }
};
template <>
struct Traits<double> {
  using Ref = Quad;
  static constexpr int kPrecision = 53;
  static constexpr int kMinExponent = -1021;
  static int exponent(Ref v) { int e; frexpq(v, &e); return e; }
  static Ref scale(Ref v, int e) { return ldexpq(v, e); }
  static std::string str(Ref v) {
    char b[64];
    quadmath_snprintf(b, sizeof b, "%.36Qg", v);
    return b;
  }
};

// The position of a float among all floats, so that adjacent floats differ by 1.
template <class T>
std::int64_t ordinal(T y) {
  const auto u = bits(y);
  constexpr auto sign = decltype(u){1} << (sizeof(u) * 8 - 1);
  return (u & sign) ? -static_cast<std::int64_t>(u & ~sign) : static_cast<std::int64_t>(u);
}

template <class T>
std::string hex(T v) {
  char b[64];
  std::snprintf(b, sizeof b, "%a", static_cast<double>(v));
  return b;
}

// The largest errors of one function over many inputs: in ulps of the exact value (the usual
// measure), and in steps from the correctly rounded result (0 = correctly rounded). A result that
// should be infinite, NaN or zero must be exactly that.
template <class T>
struct ErrorTally {
  using Ref = typename Traits<T>::Ref;
  std::string name;
  long count = 0;
  double max_ulp = 0;
  std::int64_t max_steps = 0;
  T worst_x = 0, worst_y = 0;
  Ref worst_ref = 0;
  long special_failures = 0;
  std::string first_special_failure;

  void add(T x, T y, Ref ref) {
    ++count;
    const T rounded = static_cast<T>(ref);  // correctly rounded (one rounding of ref)
    if (std::isnan(static_cast<double>(ref)) || std::isinf(rounded)) {
      const bool ok = std::isnan(static_cast<double>(ref)) ? std::isnan(y) : y == rounded;
      if (!ok && special_failures++ == 0) {
        first_special_failure =
            name + "(" + hex(x) + ") = " + hex(y) + ", expected " + hex(rounded);
      }
      return;
    }
    if (std::isnan(y)) {
      if (special_failures++ == 0) first_special_failure = name + "(" + hex(x) + ") = nan";
      return;
    }
    const int e = ref == 0 ? Traits<T>::kMinExponent
                           : std::max(Traits<T>::exponent(ref), Traits<T>::kMinExponent);
    const Ref ulp = Traits<T>::scale(Ref(1), e - Traits<T>::kPrecision);
    const Ref diff = static_cast<Ref>(y) - ref;
    const double err = static_cast<double>((diff < 0 ? -diff : diff) / ulp);
    const std::int64_t steps = std::llabs(ordinal(y) - ordinal(rounded));
    if (err > max_ulp) {
      max_ulp = err;
      worst_x = x;
      worst_y = y;
      worst_ref = ref;
    }
    max_steps = std::max(max_steps, steps);
  }

  std::string report() const {
    std::ostringstream out;
    out << name << ": " << count << " inputs, max error " << max_ulp
        << " ulp at x = " << hex(worst_x)
        << " (got " << hex(worst_y) << ", exact " << Traits<T>::str(worst_ref)
        << "), at most " << max_steps << " step(s) from the correctly rounded result";
    if (special_failures) out << "; " << special_failures << " wrong special values, first: "
                              << first_special_failure;
    return out.str();
  }

  void expect_within(std::int64_t steps) const {
    std::printf("[ measured ] %s\n", report().c_str());
    EXPECT_GT(count, 0);
    EXPECT_EQ(special_failures, 0) << report();
    EXPECT_LE(max_steps, steps) << report();
  }
};

// ---- inputs ------------------------------------------------------------------------------------

// Every float in [lo, hi) (same sign), every `stride`-th.
template <class F>
void for_floats(float lo, float hi, std::uint32_t stride, F f) {
  for (std::uint32_t b = bits(lo); b < bits(hi); b += stride) f(float_from_bits(b));
}

// n random floats of every sign and exponent (uniform random bits), finite or not.
std::vector<float> random_bit_floats(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 source(seed);
  std::vector<float> out(n);
  for (auto& v : out) v = float_from_bits(static_cast<std::uint32_t>(source()));
  return out;
}
std::vector<double> random_bit_doubles(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 source(seed);
  std::vector<double> out(n);
  for (auto& v : out) v = double_from_bits(source());
  return out;
}
// n random doubles uniform in [lo, hi).
std::vector<double> random_doubles(std::size_t n, double lo, double hi, std::uint64_t seed) {
  std::mt19937_64 source(seed);
  std::vector<double> out(n);
  for (auto& v : out) v = lo + (hi - lo) * (static_cast<double>(source() >> 11) * 0x1p-53);
  return out;
}

const float kInf = std::numeric_limits<float>::infinity();
const double kInfD = std::numeric_limits<double>::infinity();

// Special values every function must get exactly right, with the expected result where it is a
// defining property (not merely the correctly rounded value).
template <class T>
std::vector<T> special_inputs() {
  using L = std::numeric_limits<T>;
  return {T(0),          -T(0),         T(1),          -T(1),       T(0.5),       -T(0.5),
          T(2),          T(0.25),       T(1.5),        -T(1.5),     T(3),         T(1e6),
          L::min(),      -L::min(),     L::denorm_min(), -L::denorm_min(), L::max(), -L::max(),
          L::infinity(), -L::infinity(), L::quiet_NaN(), -L::quiet_NaN(), L::epsilon(),
          T(1) - L::epsilon() / 2, T(1) + L::epsilon()};
}

// ---- float accuracy ----------------------------------------------------------------------------

TEST(PortableMath, LogF32) {
  ErrorTally<float> tally{"log_f32"};
  auto check = [&](float x) { tally.add(x, log_f32(x), ref_log(x)); };
  for_floats(0.5f, 2.0f, 1, check);                    // every mantissa, both sides of 1
  for (std::uint32_t k = 1; k < (1u << 24); ++k) {     // every float32 uniform of rb's generator
    check(static_cast<float>(k) * 0x1p-24f);
  }
  for_floats(0.0f, kInf, 499, check);                  // every exponent, subnormals included
  for (float x : random_bit_floats(1 << 20, 1)) check(x);
  for (float x : special_inputs<float>()) check(x);
  tally.expect_within(2);
  EXPECT_EQ(bits(log_f32(1.0f)), 0u);
  EXPECT_EQ(log_f32(0.0f), -kInf);
  EXPECT_EQ(log_f32(-0.0f), -kInf);
  EXPECT_EQ(log_f32(kInf), kInf);
  // The canonical NaN: see Note [Portable arithmetic].
  EXPECT_EQ(bits(log_f32(-1.0f)), 0x7fc00000u);
  EXPECT_EQ(bits(log_f32(-kInf)), 0x7fc00000u);
  EXPECT_EQ(bits(log_f32(float_from_bits(0xffc12345u))), 0x7fc00000u);
}

TEST(PortableMath, Log1pF32) {
  ErrorTally<float> tally{"log1p_f32"};
  auto check = [&](float x) { tally.add(x, log1p_f32(x), ref_log1p(x)); };
  for_floats(0x1p-4f, 2.0f, 5, check);                 // log1p's core range, dense
  for_floats(-0x1p-4f, -1.0f, 5, check);
  for_floats(0.0f, 0x1p-4f, 499, check);               // tiny |x|
  for_floats(-0.0f, -0x1p-4f, 499, check);
  for (std::uint32_t k = 0; k < (1u << 24); ++k) {     // log1p(-u) for rb's float32 uniforms
    check(-static_cast<float>(k) * 0x1p-24f);
  }
  for_floats(2.0f, kInf, 499, check);
  for (float x : random_bit_floats(1 << 20, 2)) check(x);
  for (float x : special_inputs<float>()) check(x);
  tally.expect_within(2);
  EXPECT_EQ(bits(log1p_f32(0.0f)), 0u);
  EXPECT_EQ(bits(log1p_f32(-0.0f)), 0x80000000u);
  EXPECT_EQ(log1p_f32(-1.0f), -kInf);
  EXPECT_EQ(log1p_f32(kInf), kInf);
  EXPECT_EQ(bits(log1p_f32(-1.5f)), 0x7fc00000u);
  const float tiny = 0x1.234p-30f;
  EXPECT_EQ(log1p_f32(tiny), tiny);
  EXPECT_EQ(log1p_f32(-tiny), -tiny);
}

TEST(PortableMath, ExpF32) {
  ErrorTally<float> tally{"exp_f32"};
  auto check = [&](float x) { tally.add(x, exp_f32(x), ref_exp(x)); };
  for_floats(0x1p-3f, 128.0f, 5, check);                 // both signs, |x| in [1/8, 128)
  for_floats(-0x1p-3f, -128.0f, 5, check);
  for_floats(0.0f, 0x1p-3f, 499, check);                 // tiny |x|
  for_floats(-0.0f, -0x1p-3f, 499, check);
  for_floats(80.0f, 89.0f, 1, check);                    // around overflow
  for_floats(-87.0f, -105.0f, 1, check);                 // subnormal results and underflow
  for (float x : random_bit_floats(1 << 20, 3)) check(x);
  for (float x : special_inputs<float>()) check(x);
  tally.expect_within(2);
  EXPECT_EQ(exp_f32(0.0f), 1.0f);
  EXPECT_EQ(exp_f32(-0.0f), 1.0f);
  EXPECT_EQ(exp_f32(kInf), kInf);
  EXPECT_EQ(bits(exp_f32(-kInf)), 0u);
  EXPECT_EQ(exp_f32(89.0f), kInf);
  EXPECT_EQ(bits(exp_f32(-104.0f)), 0u);
  EXPECT_EQ(bits(exp_f32(float_from_bits(0x7fc12345u))), 0x7fc00000u);
}

TEST(PortableMath, SincospiF32) {
  ErrorTally<float> sin_tally{"sinpi_f32"}, cos_tally{"cospi_f32"};
  auto check = [&](float x) {
    float s, c;
    sincospi_f32(x, &s, &c);
    long double rs, rc;
    ref_sincospi(x, &rs, &rc);
    sin_tally.add(x, s, rs);
    cos_tally.add(x, c, rc);
  };
  for_floats(0.25f, 2.0f, 1, check);                    // every float of a period past 1/4
  for_floats(0x1p-12f, 0.25f, 17, check);
  for_floats(0.0f, 0x1p-12f, 499, check);
  for (std::uint32_t k = 0; k < (1u << 24); k += 3) {   // 2u for rb's float32 uniforms u
    check(static_cast<float>(k) * 0x1p-23f);             // (Box-Muller's angle)
  }
  for_floats(-0.25f, -4.0f, 7, check);
  for_floats(-0.0f, -0.25f, 499, check);
  for_floats(2.0f, 0x1p26f, 101, check);                 // large arguments
  for (float x : random_bit_floats(1 << 20, 4)) {
    if (std::isfinite(x)) check(x);
  }
  for (float x : special_inputs<float>()) {
    if (std::isfinite(x)) check(x);
  }
  sin_tally.expect_within(2);
  cos_tally.expect_within(2);
}

TEST(PortableMath, SincospiF32ExactPoints) {
  float s, c;
  for (int n = -40; n <= 40; ++n) {  // integers: sin = +-0 (the sign of x), cos = +-1
    sincospi_f32(static_cast<float>(n), &s, &c);
    EXPECT_EQ(bits(s), n < 0 ? 0x80000000u : 0u) << "sinpi(" << n << ")";
    EXPECT_EQ(c, n % 2 == 0 ? 1.0f : -1.0f) << "cospi(" << n << ")";
    const float h = static_cast<float>(n) + 0.5f;  // half-integers: sin = +-1, cos = +0
    sincospi_f32(h, &s, &c);
    EXPECT_EQ(s, ((n % 2) + 2) % 2 == 0 ? 1.0f : -1.0f) << "sinpi(" << h << ")";
    EXPECT_EQ(bits(c), 0u) << "cospi(" << h << ")";
  }
  for (float big : {0x1p24f, 0x1p25f, 0x1p30f, 0x1p127f, 0x1.fffffep127f}) {
    sincospi_f32(big, &s, &c);  // even integers
    EXPECT_EQ(bits(s), 0u);
    EXPECT_EQ(c, 1.0f);
    sincospi_f32(-big, &s, &c);
    EXPECT_EQ(bits(s), 0x80000000u);
    EXPECT_EQ(c, 1.0f);
  }
  sincospi_f32(0x1p23f + 1, &s, &c);  // an odd integer
  EXPECT_EQ(c, -1.0f);
  sincospi_f32(-0.0f, &s, &c);
  EXPECT_EQ(bits(s), 0x80000000u);
  EXPECT_EQ(c, 1.0f);
  for (float bad : {kInf, -kInf, std::numeric_limits<float>::quiet_NaN()}) {
    sincospi_f32(bad, &s, &c);
    EXPECT_EQ(bits(s), 0x7fc00000u);
    EXPECT_EQ(bits(c), 0x7fc00000u);
  }
}

// Every float input of every float function. Minutes: run it with --gtest_also_run_disabled_tests.
TEST(PortableMath, DISABLED_ExhaustiveF32) {
  ErrorTally<float> log_t{"log_f32"}, log1p_t{"log1p_f32"}, exp_t{"exp_f32"}, sin_t{"sinpi_f32"},
      cos_t{"cospi_f32"};
  for (std::uint64_t b = 0; b < (1ull << 32); ++b) {
    const float x = float_from_bits(static_cast<std::uint32_t>(b));
    log_t.add(x, log_f32(x), ref_log(x));
    log1p_t.add(x, log1p_f32(x), ref_log1p(x));
    exp_t.add(x, exp_f32(x), ref_exp(x));
    if (std::isfinite(x)) {
      float s, c;
      long double rs, rc;
      sincospi_f32(x, &s, &c);
      ref_sincospi(x, &rs, &rc);
      sin_t.add(x, s, rs);
      cos_t.add(x, c, rc);
    }
  }
  for (auto* t : {&log_t, &log1p_t, &exp_t, &sin_t, &cos_t}) t->expect_within(2);
}

// ---- double accuracy ---------------------------------------------------------------------------

TEST(PortableMath, LogF64) {
  ErrorTally<double> tally{"log_f64"};
  auto check = [&](double x) { tally.add(x, log_f64(x), ref_log(x)); };
  for (double x : random_doubles(300000, 0.5, 2.0, 5)) check(x);
  for (double x : random_doubles(100000, 0.0, 1.0, 6)) check(x);  // rb's float64 uniforms' range
  for (double x : random_bit_doubles(200000, 7)) check(x);          // every exponent
  for (double x : special_inputs<double>()) check(x);
  for (int e = -1074; e <= 1023; ++e) check(std::ldexp(1.0, e));
  tally.expect_within(4);
  EXPECT_EQ(bits(log_f64(1.0)), 0u);
  EXPECT_EQ(log_f64(0.0), -kInfD);
  EXPECT_EQ(log_f64(kInfD), kInfD);
  EXPECT_EQ(bits(log_f64(-2.0)), 0x7ff8000000000000ull);
}

TEST(PortableMath, Log1pF64) {
  ErrorTally<double> tally{"log1p_f64"};
  auto check = [&](double x) { tally.add(x, log1p_f64(x), ref_log1p(x)); };
  for (double x : random_doubles(200000, -1.0, 2.0, 8)) check(x);
  for (double x : random_doubles(100000, -1e-6, 1e-6, 9)) check(x);
  for (double x : random_bit_doubles(200000, 10)) check(x);
  for (double x : special_inputs<double>()) check(x);
  tally.expect_within(4);
  EXPECT_EQ(bits(log1p_f64(-0.0)), 0x8000000000000000ull);
  EXPECT_EQ(log1p_f64(-1.0), -kInfD);
  EXPECT_EQ(log1p_f64(0x1.5p-60), 0x1.5p-60);
  EXPECT_EQ(bits(log1p_f64(-3.0)), 0x7ff8000000000000ull);
}

TEST(PortableMath, ExpF64) {
  ErrorTally<double> tally{"exp_f64"};
  auto check = [&](double x) { tally.add(x, exp_f64(x), ref_exp(x)); };
  for (double x : random_doubles(300000, -1.0, 1.0, 11)) check(x);
  for (double x : random_doubles(200000, -750.0, 720.0, 12)) check(x);  // overflow and subnormals
  for (double x : random_bit_doubles(200000, 13)) check(x);
  for (double x : special_inputs<double>()) check(x);
  tally.expect_within(4);
  EXPECT_EQ(exp_f64(0.0), 1.0);
  EXPECT_EQ(exp_f64(710.0), kInfD);
  EXPECT_EQ(bits(exp_f64(-746.0)), 0u);
  EXPECT_EQ(bits(exp_f64(-kInfD)), 0u);
}

TEST(PortableMath, SincospiF64) {
  ErrorTally<double> sin_tally{"sinpi_f64"}, cos_tally{"cospi_f64"};
  auto check = [&](double x) {
    double s, c;
    sincospi_f64(x, &s, &c);
    Quad rs, rc;
    ref_sincospi(x, &rs, &rc);
    sin_tally.add(x, s, rs);
    cos_tally.add(x, c, rc);
  };
  for (double x : random_doubles(300000, 0.0, 2.0, 14)) check(x);
  for (double x : random_doubles(100000, -1e6, 1e6, 15)) check(x);
  for (double x : random_bit_doubles(200000, 16)) {
    if (std::isfinite(x)) check(x);
  }
  for (int k = -64; k <= 64; ++k) check(k * 0.25);
  sin_tally.expect_within(4);
  cos_tally.expect_within(4);
  double s, c;
  sincospi_f64(-3.0, &s, &c);
  EXPECT_EQ(bits(s), 0x8000000000000000ull);
  EXPECT_EQ(c, -1.0);
  sincospi_f64(2.5, &s, &c);
  EXPECT_EQ(s, 1.0);
  EXPECT_EQ(bits(c), 0u);
  sincospi_f64(0x1p60, &s, &c);
  EXPECT_EQ(bits(s), 0u);
  EXPECT_EQ(c, 1.0);
  sincospi_f64(kInfD, &s, &c);
  EXPECT_EQ(bits(s), 0x7ff8000000000000ull);
}

// ---- the same bits from every instruction set -------------------------------------------------

bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

// Inputs for the instruction-set comparison: random bits, the functions' main ranges, specials.
template <class T>
std::vector<T> isa_inputs() {
  std::vector<T> x;
  std::mt19937_64 source(20261127);
  const std::size_t n = 1 << 20;
  x.reserve(n + 64);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t w = source();
    const double u = static_cast<double>(w >> 11) * 0x1p-53;
    switch (i % 4) {
      case 0:  // random bits: every exponent, subnormals, infinities, NaNs
        if constexpr (sizeof(T) == 4) {
          x.push_back(float_from_bits(static_cast<std::uint32_t>(w)));
        } else {
          x.push_back(double_from_bits(w));
        }
        break;
      case 1: x.push_back(static_cast<T>(u)); break;                      // [0, 1)
      case 2: x.push_back(static_cast<T>((u - 0.5) * 220)); break;        // exp's range
      default: x.push_back(static_cast<T>((u - 0.5) * 8)); break;         // a few periods
    }
  }
  for (T v : special_inputs<T>()) x.push_back(v);
  return x;
}

template <class T>
void expect_same_bits(const char* what, const std::vector<T>& x, const std::vector<T>& a,
                      const std::vector<T>& b) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (bits(a[i]) != bits(b[i])) {
      ADD_FAILURE() << what << " differs at x = " << hex(x[i]) << ": " << hex(a[i]) << " vs "
                    << hex(b[i]);
      return;
    }
  }
}

template <class T, class Scalar, class Vector>
void compare_unary(const char* what, Scalar scalar, Vector vector) {
  const auto x = isa_inputs<T>();
  std::vector<T> a(x.size()), b(x.size());
  scalar(x.data(), a.data(), x.size());
  vector(x.data(), b.data(), x.size());
  expect_same_bits(what, x, a, b);
}
template <class T, class Scalar, class Vector>
void compare_sincos(const char* what, Scalar scalar, Vector vector) {
  const auto x = isa_inputs<T>();
  std::vector<T> s1(x.size()), c1(x.size()), s2(x.size()), c2(x.size());
  scalar(x.data(), s1.data(), c1.data(), x.size());
  vector(x.data(), s2.data(), c2.data(), x.size());
  expect_same_bits(what, x, s1, s2);
  expect_same_bits(what, x, c1, c2);
}

// The inline functions themselves, called from this file (no vectorization flags), must agree too.
TEST(PortableMath, ScalarLoopsMatchTheInlineFunctions) {
  const auto xf = isa_inputs<float>();
  std::vector<float> y(xf.size());
  test::log_f32_scalar(xf.data(), y.data(), xf.size());
  for (std::size_t i = 0; i < xf.size(); i += 101) ASSERT_EQ(bits(y[i]), bits(log_f32(xf[i])));
  test::exp_f32_scalar(xf.data(), y.data(), xf.size());
  for (std::size_t i = 0; i < xf.size(); i += 101) ASSERT_EQ(bits(y[i]), bits(exp_f32(xf[i])));
}

#define RB_COMPARE_ISA(isa)                                                                   \
  compare_unary<float>("log_f32 " #isa, test::log_f32_scalar, test::log_f32_##isa);          \
  compare_unary<float>("log1p_f32 " #isa, test::log1p_f32_scalar, test::log1p_f32_##isa);    \
  compare_unary<float>("exp_f32 " #isa, test::exp_f32_scalar, test::exp_f32_##isa);          \
  compare_sincos<float>("sincospi_f32 " #isa, test::sincospi_f32_scalar,                     \
                        test::sincospi_f32_##isa);                                            \
  compare_unary<double>("log_f64 " #isa, test::log_f64_scalar, test::log_f64_##isa);         \
  compare_unary<double>("log1p_f64 " #isa, test::log1p_f64_scalar, test::log1p_f64_##isa);   \
  compare_unary<double>("exp_f64 " #isa, test::exp_f64_scalar, test::exp_f64_##isa);         \
  compare_sincos<double>("sincospi_f64 " #isa, test::sincospi_f64_scalar,                    \
                         test::sincospi_f64_##isa)

TEST(PortableMath, Avx2LoopsGiveTheScalarBits) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "this CPU has no AVX2 and FMA: the AVX2 build was not run";
  RB_COMPARE_ISA(avx2);
}

TEST(PortableMath, Avx512LoopsGiveTheScalarBits) {
  if (!cpu_has_avx512()) GTEST_SKIP() << "this CPU has no AVX-512 F/DQ/BW/VL: not run";
  RB_COMPARE_ISA(avx512);
}

}  // namespace
}  // namespace rb::detail
