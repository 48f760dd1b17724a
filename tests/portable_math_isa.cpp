// Loops over rb's portable math, compiled once per instruction set (scalar, AVX2, AVX-512: see
// tests/CMakeLists.txt); portable_math_test.cpp checks that every copy gives the same bits.
// RB_ISA is the copy's suffix: log_f32_avx2, ...
#include <cstddef>

#include "rb/detail/portable_math.hpp"

#define RB_ISA_CAT2(f, isa) f##_##isa
#define RB_ISA_CAT(f, isa) RB_ISA_CAT2(f, isa)
#define RB_ISA_NAME(f) RB_ISA_CAT(f, RB_ISA)

namespace rb::test {

void RB_ISA_NAME(log_f32)(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = detail::log_f32(x[i]);
}
void RB_ISA_NAME(log1p_f32)(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = detail::log1p_f32(x[i]);
}
void RB_ISA_NAME(exp_f32)(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = detail::exp_f32(x[i]);
}
void RB_ISA_NAME(sincospi_f32)(const float* x, float* s, float* c, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) detail::sincospi_f32(x[i], &s[i], &c[i]);
}
void RB_ISA_NAME(log_f64)(const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = detail::log_f64(x[i]);
}
void RB_ISA_NAME(log1p_f64)(const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = detail::log1p_f64(x[i]);
}
void RB_ISA_NAME(exp_f64)(const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = detail::exp_f64(x[i]);
}
void RB_ISA_NAME(sincospi_f64)(const double* x, double* s, double* c, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) detail::sincospi_f64(x[i], &s[i], &c[i]);
}

}  // namespace rb::test
