// rb's own log, log1p, exp and sincospi, bit-identical on every CPU, instruction set and GPU.
// The samplers that need transcendental functions (normal, exponential, ...) use these, not libm.
#pragma once

#include <cfloat>
#include <cstdint>
#include <cstring>

#include "rb/config.hpp"

namespace rb::detail {

// Note [Portable arithmetic]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
// glibc's libm and CUDA's differ in the last bits of log, exp, sin, ... and a compiler may fuse
// a * b + c into one fused multiply-add (one rounding instead of two) wherever the target has one:
// always on a GPU, on a CPU with -mfma. Either would make a sampler's values depend on the device.
// The functions of this file therefore use only operations that IEEE 754 defines as correctly
// rounded, which give the same bits everywhere:
//   - `+`, `-`, `*`, `/` (and sqrt), comparisons and selects (see Note [Selects, not branches]);
//   - conversions between integers and floats, and bit manipulation through bits_of/float_from_bits
//     (std::memcpy on the host, __float_as_uint and friends on the device); the functions below
//     build small integers as floats from bits instead of converting (2^23 + e has the bits
//     0x4b000000 + e), which vectorizes on every instruction set;
//   - never a libm call, never a fused multiply-add, explicit or contracted.
// Contraction: on the host, code that includes this header must be compiled with
// -ffp-contract=off (rb::core's CMake target adds it; GCC and clang otherwise fuse with -mfma). On
// the device, every product and sum goes through mul_rn/add_rn/..., which are __fmul_rn, __fadd_rn,
// ... there: nvcc never fuses those, whatever --fmad says (rb::core also passes --fmad=false).
// Subnormals: float device code must keep nvcc's default -ftz=false (--use_fast_math sets
// -ftz=true, which flushes subnormal operands and results of these very intrinsics to zero), and
// host threads must not run with the FTZ/DAZ bits of MXCSR set (torch.set_flush_denormal(True),
// -ffast-math's crtfastmath.o): results that are or pass through subnormals would differ.
// NaN: every NaN result is the canonical quiet NaN 0x7fc00000 (0x7ff8000000000000), chosen by a
// select, never left to arithmetic (x86 and CUDA produce NaNs of different bits).
// Each function is a fixed sequence of such operations (no branch on the data: selects only), so
// the scalar code, GCC's AVX2/AVX-512 vectorizations of a loop calling it, and CUDA all produce the
// same bits; tests/portable_math_test.cpp and tests/portable_math_cuda_test.cu check that, and
// tests/golden/portable_math.txt pins the bits. The polynomial coefficients are fitted by
// scripts/fit_portable_math.py (weighted minimax, rounded coefficient by coefficient).

#if !RB_DEVICE_CODE
static_assert(FLT_EVAL_METHOD == 0, "rb's portable math needs float and double evaluated in their "
                                    "own precision (SSE2 or better on x86, not the x87 FPU)");
#endif

// ---- correctly rounded operations: see Note [Portable arithmetic] ----------------------------

/// a * b, a + b, a - b, a / b rounded to nearest, never fused with another operation.
RB_HOST_DEVICE RB_FORCE_INLINE float mul_rn(float a, float b) {
#if RB_DEVICE_CODE
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE float add_rn(float a, float b) {
#if RB_DEVICE_CODE
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE float sub_rn(float a, float b) {
#if RB_DEVICE_CODE
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE float div_rn(float a, float b) {
#if RB_DEVICE_CODE
  return __fdiv_rn(a, b);  // IEEE division whatever -prec-div says
#else
  return a / b;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE double mul_rn(double a, double b) {
#if RB_DEVICE_CODE
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE double add_rn(double a, double b) {
#if RB_DEVICE_CODE
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE double sub_rn(double a, double b) {
#if RB_DEVICE_CODE
  return __dsub_rn(a, b);
#else
  return a - b;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE double div_rn(double a, double b) {
#if RB_DEVICE_CODE
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}

/// The bits of a float or double, and back.
RB_HOST_DEVICE RB_FORCE_INLINE std::uint32_t bits_of(float x) {
#if RB_DEVICE_CODE
  return __float_as_uint(x);
#else
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE std::uint64_t bits_of(double x) {
#if RB_DEVICE_CODE
  return static_cast<std::uint64_t>(__double_as_longlong(x));
#else
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE float float_from_bits(std::uint32_t u) {
#if RB_DEVICE_CODE
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE double double_from_bits(std::uint64_t u) {
#if RB_DEVICE_CODE
  return __longlong_as_double(static_cast<long long>(u));
#else
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

/// c0 + z (c1 + z (c2 + ...)), each step rounded (Horner's scheme without fused multiply-adds).
template <class T>
RB_HOST_DEVICE RB_FORCE_INLINE T horner(T, T c) {
  return c;
}
template <class T, class... Rest>
RB_HOST_DEVICE RB_FORCE_INLINE T horner(T z, T c, Rest... rest) {
  return add_rn(c, mul_rn(z, horner(z, rest...)));
}

// Note [Selects, not branches]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// GCC lowers `c ? a : b` to a branch and a phi, and later passes (jump threading, PRE, sinking) may
// move floating-point operations into one arm, e.g. fold x * (c ? 2^23 : 1) into c ? x * 2^23 : x.
// With -ftrapping-math (the default) the vectorizer will not execute such an operation for every
// lane without masks, so the loop stays scalar under AVX2 (AVX-512 masks it). select() blends the
// bits with an integer mask instead, which no pass turns back into a branch. nvcc turns the plain
// ternary into a predicated select, so the device code keeps it.

/// c ? a : b, computed without a branch. See Note [Selects, not branches].
RB_HOST_DEVICE RB_FORCE_INLINE float select(bool c, float a, float b) {
#if RB_DEVICE_CODE
  return c ? a : b;
#else
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(c);
  return float_from_bits((bits_of(a) & mask) | (bits_of(b) & ~mask));
#endif
}
RB_HOST_DEVICE RB_FORCE_INLINE double select(bool c, double a, double b) {
#if RB_DEVICE_CODE
  return c ? a : b;
#else
  const std::uint64_t mask = 0u - static_cast<std::uint64_t>(c);
  return double_from_bits((bits_of(a) & mask) | (bits_of(b) & ~mask));
#endif
}

// Special values, built from their bits (valid in device code, where std::numeric_limits is not).
RB_HOST_DEVICE RB_FORCE_INLINE float inf_f32() { return float_from_bits(0x7f800000u); }
RB_HOST_DEVICE RB_FORCE_INLINE float nan_f32() { return float_from_bits(0x7fc00000u); }
RB_HOST_DEVICE RB_FORCE_INLINE double inf_f64() { return double_from_bits(0x7ff0000000000000ull); }
RB_HOST_DEVICE RB_FORCE_INLINE double nan_f64() { return double_from_bits(0x7ff8000000000000ull); }

// Note [Logarithm reduction]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
// x = 2^k m with m in [sqrt(1/2), sqrt(2)), found with integer operations on the bits (subnormal x
// is first scaled by 2^23, resp. 2^52, exactly). f = m - 1 is exact (Sterbenz), and
//   log(x) = k ln2_hi + (f - (hfsq - (s (hfsq + R(s^2)) + k ln2_lo))),  hfsq = f^2 / 2,
// where s = f / (2 + f), |s| <= 3 - 2 sqrt(2) = 0.1716, and 2s + s R(s^2) approximates
// log1p(f) = 2 atanh(s) (the identity f - hfsq + s hfsq = 2s makes the sum above equal to
// 2s + s R(s^2) + k ln 2). Written this way, the two large terms, k ln2_hi and f, are exact and
// only smaller terms are rounded before the last two additions: ln2_hi has enough trailing zero
// bits that k ln2_hi is exact for every k. The exponent k becomes a float without a conversion:
// the bits 0x4b000000 + e are the float 2^23 + e, exactly.
// log1p(x) feeds u = 1 + x (rounded) into the same sum with the correction (x - (u - 1)) / u, so
// that log(u) + correction = log1p(x) up to a rounding far below the result's last bit.

/// log(x) + corr for finite x > 0, where corr is a correction much smaller than log(x) (see
/// log1p), added before the last roundings; without kCorrection, log(x) (corr is ignored: the
/// sum it would enter, k ln2_lo, is never -0, so adding +0 changes no bit). With kSubnormals,
/// subnormal x too; without, x must be normal (the scaling step, a multiplication by 1 for
/// normal x, is left out: the same bits). See Note [Logarithm reduction].
template <bool kSubnormals, bool kCorrection>
RB_HOST_DEVICE RB_FORCE_INLINE float log_kernel_f32(float x, float corr) {
  // ln 2 = kLn2Hi + kLn2Lo, kLn2Hi with 8 trailing zero bits (k has at most 8 bits): from
  // scripts/fit_portable_math.py.
  constexpr float kLn2Hi = 0x1.62e4p-1f, kLn2Lo = 0x1.7f7d1cp-20f;
  constexpr std::uint32_t kSqrtHalf = 0x3f3504f3u;  // sqrt(1/2) rounded to float: 0x1.6a09e6p-1f
  const bool subnormal = kSubnormals && x < 0x1p-126f;
  const float xs = kSubnormals ? mul_rn(x, select(subnormal, 0x1p23f, 1.0f)) : x;
  // Adding 1 - sqrt(1/2) to the bits carries into the exponent field iff the mantissa is >= sqrt 2;
  // the low bits then give m in [sqrt(1/2), sqrt(2)) and the exponent field k + 127.
  const std::uint32_t ix = bits_of(xs) + (0x3f800000u - kSqrtHalf);
  const float m = float_from_bits((ix & 0x007fffffu) + kSqrtHalf);
  const float k = sub_rn(float_from_bits(0x4b000000u + (ix >> 23)),
                         select(subnormal, 0x1p23f + (127 + 23), 0x1p23f + 127));
  const float f = sub_rn(m, 1.0f);
  const float s = div_rn(f, add_rn(2.0f, f));
  const float z = mul_rn(s, s);
  // R(z) = z (L1 + z (L2 + z L3)): scripts/fit_portable_math.py log_f32 (weighted minimax,
  // 2^-30.2 relative to log1p(f)).
  const float r = mul_rn(z, horner(z, 0x1.55557ap-1f, 0x1.995ed8p-2f, 0x1.31e03cp-2f));
  const float hfsq = mul_rn(mul_rn(0.5f, f), f);
  const float k_lo = kCorrection ? add_rn(mul_rn(k, kLn2Lo), corr) : mul_rn(k, kLn2Lo);
  const float lo = add_rn(mul_rn(s, add_rn(hfsq, r)), k_lo);
  return add_rn(mul_rn(k, kLn2Hi), sub_rn(f, sub_rn(hfsq, lo)));
}

/// log(x) + corr for finite x > 0, as log_kernel_f32.
template <bool kSubnormals, bool kCorrection>
RB_HOST_DEVICE RB_FORCE_INLINE double log_kernel_f64(double x, double corr) {
  // ln 2 = kLn2Hi + kLn2Lo, kLn2Hi with 11 trailing zero bits: scripts/fit_portable_math.py.
  constexpr double kLn2Hi = 0x1.62e42fefa38p-1, kLn2Lo = 0x1.ef35793c7673p-45;
  constexpr std::uint64_t kSqrtHalf = 0x3fe6a09e667f3bcdull;  // sqrt(1/2): 0x1.6a09e667f3bcdp-1
  const bool subnormal = kSubnormals && x < 0x1p-1022;
  const double xs = kSubnormals ? mul_rn(x, select(subnormal, 0x1p52, 1.0)) : x;
  const std::uint64_t ix = bits_of(xs) + (0x3ff0000000000000ull - kSqrtHalf);
  const double m = double_from_bits((ix & 0x000fffffffffffffull) + kSqrtHalf);
  const double k = sub_rn(double_from_bits(0x4330000000000000ull + (ix >> 52)),
                          select(subnormal, 0x1p52 + (1023 + 52), 0x1p52 + 1023));
  const double f = sub_rn(m, 1.0);
  const double s = div_rn(f, add_rn(2.0, f));
  const double z = mul_rn(s, s);
  // R(z) = z (L1 + z (L2 + ... z L7)): scripts/fit_portable_math.py log_f64 (weighted minimax,
  // 2^-59.5 relative to log1p(f)).
  const double r = mul_rn(z, horner(z, 0x1.5555555555592p-1, 0x1.999999997ff63p-2,
                                    0x1.24924941db48ap-2, 0x1.c71c521a19a0cp-3,
                                    0x1.74663ba33f296p-3, 0x1.39a20ba64ecffp-3,
                                    0x1.2f02516d7920cp-3));
  const double hfsq = mul_rn(mul_rn(0.5, f), f);
  const double k_lo = kCorrection ? add_rn(mul_rn(k, kLn2Lo), corr) : mul_rn(k, kLn2Lo);
  const double lo = add_rn(mul_rn(s, add_rn(hfsq, r)), k_lo);
  return add_rn(mul_rn(k, kLn2Hi), sub_rn(f, sub_rn(hfsq, lo)));
}

/// Natural logarithm: log(+0) = -inf, log(+inf) = +inf, NaN for x < 0 or NaN.
/// Measured over every float: at most 0.84 ulp from the exact value, never more than one float
/// away from the correctly rounded result (tests/portable_math_test.cpp, DISABLED_ExhaustiveF32).
RB_HOST_DEVICE RB_FORCE_INLINE float log_f32(float x) {
  float y = log_kernel_f32<true, false>(x, 0.0f);
  y = select(x < inf_f32(), y, inf_f32());
  y = select(x == 0.0f, -inf_f32(), y);
  return select(x >= 0.0f, y, nan_f32());
}

/// Natural logarithm: log(+0) = -inf, log(+inf) = +inf, NaN for x < 0 or NaN.
/// Measured on a million inputs: at most 0.82 ulp from the exact value
/// (tests/portable_math_test.cpp).
RB_HOST_DEVICE RB_FORCE_INLINE double log_f64(double x) {
  double y = log_kernel_f64<true, false>(x, 0.0);
  y = select(x < inf_f64(), y, inf_f64());
  y = select(x == 0.0, -inf_f64(), y);
  return select(x >= 0.0, y, nan_f64());
}

/// log_f32(x) and log_f64(x) for a normal x in (0, 1), such as every open uniform of the samplers
/// (Note [Open uniforms]): the same bits, without the steps for subnormals, 0, infinities and NaN.
RB_HOST_DEVICE RB_FORCE_INLINE float log_unit_f32(float x) { return log_kernel_f32<false, false>(x, 0.0f); }
RB_HOST_DEVICE RB_FORCE_INLINE double log_unit_f64(double x) { return log_kernel_f64<false, false>(x, 0.0); }

/// log(1 + x) for x >= -1: log1p(-1) = -inf, log1p(+inf) = +inf, log1p(+-0) = +-0, NaN for x < -1
/// or NaN. Measured over every float: at most 0.87 ulp from the exact value.
RB_HOST_DEVICE RB_FORCE_INLINE float log1p_f32(float x) {
  const float u = add_rn(1.0f, x);
  // u - 1 and x - (u - 1) are exact; the division only scales a correction below ulp(u).
  const float corr = div_rn(sub_rn(x, sub_rn(u, 1.0f)), u);
  float y = log_kernel_f32<true, true>(u, corr);
  y = select(x < inf_f32(), y, inf_f32());
  y = select(x == -1.0f, -inf_f32(), y);
  y = select(x == 0.0f, x, y);
  return select(x >= -1.0f, y, nan_f32());
}

/// log(1 + x) for x >= -1: log1p(-1) = -inf, log1p(+inf) = +inf, log1p(+-0) = +-0, NaN for x < -1
/// or NaN. Measured on a million inputs: at most 0.81 ulp from the exact value.
RB_HOST_DEVICE RB_FORCE_INLINE double log1p_f64(double x) {
  const double u = add_rn(1.0, x);
  const double corr = div_rn(sub_rn(x, sub_rn(u, 1.0)), u);
  double y = log_kernel_f64<true, true>(u, corr);
  y = select(x < inf_f64(), y, inf_f64());
  y = select(x == -1.0, -inf_f64(), y);
  y = select(x == 0.0, x, y);
  return select(x >= -1.0, y, nan_f64());
}

// Note [Exponential reduction]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// exp(x) = 2^k exp(r), k = round(x / ln 2), r = (x - k ln2_hi) - k ln2_lo, |r| <= ln(2)/2 (a hair
// more: x / ln 2 is rounded before k is). k ln2_hi is exact and so is the subtraction (Sterbenz).
// k comes from the "shifter": t = x log2(e) + 1.5 * 2^23 (2^52) holds round(x log2(e)) in its low
// mantissa bits, so k is an integer subtraction on the bits, and t - 1.5 * 2^23 is k as a float.
// x is first clamped to a range where the result is already 0 or +inf, so |k| stays small; 2^k is
// applied as two normal powers of two 2^k1 2^k2, k1 = floor(k / 2) (from kb = k + 256, resp. 2048,
// with unsigned shifts only), so that only the last multiplication rounds: overflow gives +inf and
// tiny results round correctly to subnormals or zero.

/// e^x: exp(-inf) = +0, exp(+inf) = +inf, overflow gives +inf, underflow a subnormal or +0, NaN
/// for NaN.
/// Measured over every float: at most 0.99 ulp from the exact value.
RB_HOST_DEVICE RB_FORCE_INLINE float exp_f32(float x) {
  // scripts/fit_portable_math.py: ln 2 = kLn2Hi + kLn2Lo (kLn2Hi with 8 trailing zero bits),
  // 1 / ln 2.
  constexpr float kLn2Hi = 0x1.62e4p-1f, kLn2Lo = 0x1.7f7d1cp-20f, kLog2e = 0x1.715476p+0f;
  constexpr float kShifter = 0x1.8p23f;  // 1.5 * 2^23: see Note [Exponential reduction]
  // exp(-104) < 2^-150 rounds to 0 and exp(89) > FLT_MAX to +inf; NaN is replaced at the end.
  float xc = select(x > 89.0f, 89.0f, x);
  xc = select(xc >= -104.0f, xc, -104.0f);
  const float t = add_rn(mul_rn(xc, kLog2e), kShifter);
  const float k = sub_rn(t, kShifter);
  const float r = sub_rn(sub_rn(xc, mul_rn(k, kLn2Hi)), mul_rn(k, kLn2Lo));
  // exp(r) = 1 + r + r^2 P(r): scripts/fit_portable_math.py exp_f32 (weighted minimax, 2^-28.2
  // relative to exp(r)).
  const float p = horner(r, 0x1.fffffcp-2f, 0x1.55548cp-3f, 0x1.55585ap-5f, 0x1.123d62p-7f,
                         0x1.6ab7eap-10f);
  const float e = add_rn(1.0f, add_rn(r, mul_rn(mul_rn(r, r), p)));
  const std::uint32_t kb = bits_of(t) - (bits_of(kShifter) - 256u);  // k + 256, in [106, 384]
  const std::uint32_t h = kb >> 1;                                   // k1 + 128
  const float y = mul_rn(mul_rn(e, float_from_bits((h - 1u) << 23)),    // 2^k1
                         float_from_bits((kb - h - 1u) << 23));         // 2^(k - k1)
  return select(x == x, y, nan_f32());
}

/// e^x: exp(-inf) = +0, exp(+inf) = +inf, overflow gives +inf, underflow a subnormal or +0, NaN
/// for NaN.
/// Measured on a million inputs: at most 1.06 ulp from the exact value.
RB_HOST_DEVICE RB_FORCE_INLINE double exp_f64(double x) {
  // scripts/fit_portable_math.py: ln 2 = kLn2Hi + kLn2Lo (kLn2Hi with 11 trailing zero bits),
  // 1 / ln 2.
  constexpr double kLn2Hi = 0x1.62e42fefa38p-1, kLn2Lo = 0x1.ef35793c7673p-45;
  constexpr double kLog2e = 0x1.71547652b82fep+0;
  constexpr double kShifter = 0x1.8p52;  // 1.5 * 2^52: see Note [Exponential reduction]
  // exp(-746) < 2^-1075 rounds to 0 and exp(710) > DBL_MAX to +inf; NaN is replaced at the end.
  double xc = select(x > 710.0, 710.0, x);
  xc = select(xc >= -746.0, xc, -746.0);
  const double t = add_rn(mul_rn(xc, kLog2e), kShifter);
  const double k = sub_rn(t, kShifter);
  const double r = sub_rn(sub_rn(xc, mul_rn(k, kLn2Hi)), mul_rn(k, kLn2Lo));
  // exp(r) = 1 + r + r^2 P(r): scripts/fit_portable_math.py exp_f64 (weighted minimax, 2^-55.2
  // relative to exp(r)).
  const double p = horner(r, 0x1p-1, 0x1.555555555555dp-3, 0x1.555555555556cp-5,
                          0x1.111111110e569p-7, 0x1.6c16c16c0a47cp-10, 0x1.a01a01b5dbedcp-13,
                          0x1.a01a01ea3a017p-16, 0x1.71ddeb10c092fp-19, 0x1.27e43fbd28f43p-22,
                          0x1.af66a2db801e1p-26, 0x1.200d7971b4e87p-29);
  const double e = add_rn(1.0, add_rn(r, mul_rn(mul_rn(r, r), p)));
  const std::uint64_t kb = bits_of(t) - (bits_of(kShifter) - 2048u);  // k + 2048, in [972, 3072]
  const std::uint64_t h = kb >> 1;                                    // k1 + 1024
  const double y = mul_rn(mul_rn(e, double_from_bits((h - 1u) << 52)),
                          double_from_bits((kb - h - 1u) << 52));
  return select(x == x, y, nan_f64());
}

// Note [Exact reduction of sincospi]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// sin(pi x) and cos(pi x) have period 2, and every step of the reduction is exact:
//   1. a = |x| (sin is odd: its sign is put back at the end, cos is even);
//   2. d = a - 4 round(a / 4), in [-2, 2]: (a + 2^25) - 2^25 (2^54 for double) is a rounded to a
//      multiple of 4, because the float spacing at 2^25 is 4; a >= 2^25 is itself a multiple of 4;
//   3. n = round(2d) by the shifter 1.5 * 2^23 (its low bits give n mod 4, the quadrant), and
//      r = d - n/2, |r| <= 1/4, exact because d and n/2 are multiples of ulp(d);
//   4. sin(pi r) = r (pi + r^2 S(r^2)), cos(pi r) = 1 + r^2 C(r^2), swapped and negated by the
//      quadrant. r pi is computed as r_hi p1 + (r_lo p1 + r p2), where r_hi p1 is exact: a plain
//      r * pi would round a product that can lie in the binade above the result (1.5 ulp).
// Integers give sin = +-0 (the sign of x, as C23's sinpi) and cos = +-1, half-integers sin = +-1
// and cos = +0, exactly. Infinities and NaN give NaN.

/// sin(pi x) and cos(pi x) for any x, or, without kAnyX, for |x| < 2 only: there step 2 of the
/// Note gives d = a (a + 2^25 rounds to 2^25) and x is finite, so those steps are left out and the
/// bits are the same. See Note [Exact reduction of sincospi].
template <bool kAnyX>
RB_HOST_DEVICE RB_FORCE_INLINE void sincospi_kernel_f32(float x, float* sin_out, float* cos_out) {
  constexpr float kQuarterShifter = 0x1p25f;  // spacing 4 at 2^25: step 2 of the Note
  constexpr float kShifter = 0x1.8p23f;       // 1.5 * 2^23: step 3
  const std::uint32_t sign = bits_of(x) & 0x80000000u;
  const float a = float_from_bits(bits_of(x) & 0x7fffffffu);
  float d = a;
  if constexpr (kAnyX) {
    const float m4 = sub_rn(add_rn(a, kQuarterShifter), kQuarterShifter);
    d = sub_rn(a, select(a < kQuarterShifter, m4, a));  // a - a = 0 past 2^25
  }
  const float t = add_rn(add_rn(d, d), kShifter);
  const std::uint32_t q = bits_of(t);  // n mod 4 in the low two bits
  const float r = sub_rn(d, mul_rn(sub_rn(t, kShifter), 0.5f));
  const float z = mul_rn(r, r);
  // sin(pi r) = r (p1 + (p2 + z S(z))) and cos(pi r) = 1 + z C(z): scripts/fit_portable_math.py
  // sinpi_f32 and cospi_f32 (weighted minimax, 2^-33.4 and 2^-31.1 relative). pi = p1 + p2 and
  // r = r_hi + r_lo, p1 and r_hi with 12 significant bits, so that the leading product r_hi p1 is
  // exact and only the final sum rounds noticeably (step 4 of the Note).
  constexpr float kPi1 = 0x1.922p+1f, kPi2 = -0x1.2aeef4p-17f;
  const float r_hi = float_from_bits(bits_of(r) & 0xfffff000u);
  const float r_lo = sub_rn(r, r_hi);
  const float tail = mul_rn(r, add_rn(kPi2, mul_rn(z, horner(z, -0x1.4abbcep+2f, 0x1.466b78p+1f,
                                                             -0x1.32adacp-1f, 0x1.443bc8p-4f))));
  const float sp = add_rn(mul_rn(r_hi, kPi1), add_rn(mul_rn(r_lo, kPi1), tail));
  const float cp = add_rn(1.0f, mul_rn(z, horner(z, -0x1.3bd3ccp+2f, 0x1.03c1bp+2f, -0x1.55b2b6p+0f,
                                                 0x1.d4f7eep-3f)));
  const bool odd = (q & 1u) != 0;
  // Quadrant n mod 4: sin(pi (r + n/2)) = S, C, -S, -C and cos = C, -S, -C, S. Adding +0 turns the
  // -0 of a negated zero into +0.
  float s = float_from_bits(bits_of(select(odd, cp, sp)) ^ ((q & 2u) << 30));
  float c = float_from_bits(bits_of(select(odd, sp, cp)) ^ (((q + 1u) & 2u) << 30));
  s = float_from_bits(bits_of(add_rn(s, 0.0f)) ^ sign);
  c = add_rn(c, 0.0f);
  const bool finite = !kAnyX || a <= 0x1.fffffep127f;  // FLT_MAX; false for infinities and NaN
  *sin_out = kAnyX ? select(finite, s, nan_f32()) : s;
  *cos_out = kAnyX ? select(finite, c, nan_f32()) : c;
}

/// sin(pi x) and cos(pi x) for any x. Measured over every float: at most 1.13 ulp from the exact
/// values (both), never more than one float away from the correctly rounded ones. See Note [Exact
/// reduction of sincospi].
RB_HOST_DEVICE RB_FORCE_INLINE void sincospi_f32(float x, float* sin_out, float* cos_out) {
  sincospi_kernel_f32<true>(x, sin_out, cos_out);
}
/// sincospi_f32(x) for |x| < 2, such as the angles of the samplers: the same bits, fewer steps.
RB_HOST_DEVICE RB_FORCE_INLINE void sincospi_small_f32(float x, float* sin_out, float* cos_out) {
  sincospi_kernel_f32<false>(x, sin_out, cos_out);
}

/// sin(pi x) and cos(pi x), as sincospi_kernel_f32 (for |x| < 2 only without kAnyX: a + 2^54
/// rounds to 2^54 there).
template <bool kAnyX>
RB_HOST_DEVICE RB_FORCE_INLINE void sincospi_kernel_f64(double x, double* sin_out, double* cos_out) {
  constexpr double kQuarterShifter = 0x1p54;  // spacing 4 at 2^54
  constexpr double kShifter = 0x1.8p52;       // 1.5 * 2^52
  const std::uint64_t sign = bits_of(x) & 0x8000000000000000ull;
  const double a = double_from_bits(bits_of(x) & 0x7fffffffffffffffull);
  double d = a;
  if constexpr (kAnyX) {
    const double m4 = sub_rn(add_rn(a, kQuarterShifter), kQuarterShifter);
    d = sub_rn(a, select(a < kQuarterShifter, m4, a));
  }
  const double t = add_rn(add_rn(d, d), kShifter);
  const std::uint64_t q = bits_of(t);
  const double r = sub_rn(d, mul_rn(sub_rn(t, kShifter), 0.5));
  const double z = mul_rn(r, r);
  // sin(pi r) = r (p1 + (p2 + z S(z))) and cos(pi r) = 1 + z C(z): scripts/fit_portable_math.py
  // sinpi_f64 and cospi_f64 (weighted minimax, 2^-57.9 and 2^-61.5 relative); p1 and r_hi have 26
  // significant bits, so that r_hi p1 is exact.
  constexpr double kPi1 = 0x1.921fb58p+1, kPi2 = -0x1.dde973dcb3b3ap-26;
  const double r_hi = double_from_bits(bits_of(r) & 0xfffffffff8000000ull);
  const double r_lo = sub_rn(r, r_hi);
  const double tail = mul_rn(
      r, add_rn(kPi2, mul_rn(z, horner(z, -0x1.4abbce625be46p+2, 0x1.466bc67758c4cp+1,
                                       -0x1.32d2cce31bf05p-1, 0x1.507830034744fp-4,
                                       -0x1.e3008fada2349p-8, 0x1.e3fbe3fb7ac24p-12))));
  const double sp = add_rn(mul_rn(r_hi, kPi1), add_rn(mul_rn(r_lo, kPi1), tail));
  const double cp = add_rn(1.0, mul_rn(z, horner(z, -0x1.3bd3cc9be45dep+2, 0x1.03c1f081b5a52p+2,
                                                 -0x1.55d3c7e3bfe56p+0, 0x1.e1f50675b20c9p-3,
                                                 -0x1.a6d1e238ee628p-6, 0x1.f9c4adc068fa6p-10,
                                                 -0x1.b0345ea7d337bp-14)));
  const bool odd = (q & 1u) != 0;
  double s = double_from_bits(bits_of(select(odd, cp, sp)) ^ ((q & 2u) << 62));
  double c = double_from_bits(bits_of(select(odd, sp, cp)) ^ (((q + 1u) & 2u) << 62));
  s = double_from_bits(bits_of(add_rn(s, 0.0)) ^ sign);
  c = add_rn(c, 0.0);
  const bool finite = !kAnyX || a <= 0x1.fffffffffffffp1023;  // DBL_MAX
  *sin_out = kAnyX ? select(finite, s, nan_f64()) : s;
  *cos_out = kAnyX ? select(finite, c, nan_f64()) : c;
}

/// sin(pi x) and cos(pi x) for any x. Measured on a million inputs: at most 1.10 (sin) and 1.12
/// (cos) ulp from the exact values. See Note [Exact reduction of sincospi].
RB_HOST_DEVICE RB_FORCE_INLINE void sincospi_f64(double x, double* sin_out, double* cos_out) {
  sincospi_kernel_f64<true>(x, sin_out, cos_out);
}
/// sincospi_f64(x) for |x| < 2, such as the angles of the samplers: the same bits, fewer steps.
RB_HOST_DEVICE RB_FORCE_INLINE void sincospi_small_f64(double x, double* sin_out, double* cos_out) {
  sincospi_kernel_f64<false>(x, sin_out, cos_out);
}

}  // namespace rb::detail
