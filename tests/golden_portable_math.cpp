// Prints the golden table of rb's portable math: the bits of every function at fixed inputs.
// CTest builds it at two optimisation levels and with a second compiler and compares each output
// with tests/golden/portable_math.txt; scripts/update_golden.sh rewrites that file (a breaking
// change of every sampler that uses these functions: see the README's changelog).
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "rb/detail/portable_math.hpp"

namespace {

using rb::detail::bits_of;
using rb::detail::double_from_bits;
using rb::detail::float_from_bits;

// 50 float inputs: special values, then values spread over the functions' ranges, built from
// integers with exact operations so that every compiler builds the same table.
std::vector<float> float_inputs() {
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 1.5f, -1.5f, 2.0f, 0.25f, 0.75f,
                          3.0f, 100.0f, 88.5f, -103.5f, 0x1p-126f, 0x1p-149f, 0x1.fffffep127f,
                          float_from_bits(0x7f800000u), float_from_bits(0xff800000u),
                          float_from_bits(0x7fc00000u)};
  std::uint32_t state = 12345;
  while (x.size() < 50) {
    state = state * 1664525u + 1013904223u;  // Numerical Recipes' LCG
    const float u = static_cast<float>(state >> 8) * 0x1p-24f;                // [0, 1)
    const int k = static_cast<int>(x.size() % 5);
    const float scale[5] = {1.0f, 0x1p-20f, 16.0f, 256.0f, -8.0f};
    x.push_back(u * scale[k]);
  }
  return x;
}

std::vector<double> double_inputs() {
  std::vector<double> x = {0.0, -0.0, 1.0, -1.0, 0.5, 1.5, -1.5, 2.0, 0.25, 0.75, 3.0, 100.0,
                           709.5, -745.5, 0x1p-1022, 0x1p-1074, 0x1.fffffffffffffp1023,
                           double_from_bits(0x7ff0000000000000ull),
                           double_from_bits(0xfff0000000000000ull),
                           double_from_bits(0x7ff8000000000000ull)};
  std::uint64_t state = 12345;
  while (x.size() < 50) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;  // Knuth's MMIX LCG
    const double u = static_cast<double>(state >> 11) * 0x1p-53;
    const int k = static_cast<int>(x.size() % 5);
    const double scale[5] = {1.0, 0x1p-40, 16.0, 512.0, -8.0};
    x.push_back(u * scale[k]);
  }
  return x;
}

}  // namespace

int main() {
  using namespace rb::detail;
  for (float x : float_inputs()) {
    float s, c;
    sincospi_f32(x, &s, &c);
    std::printf("f32 %08x: log %08x log1p %08x exp %08x sinpi %08x cospi %08x\n", bits_of(x),
                bits_of(log_f32(x)), bits_of(log1p_f32(x)), bits_of(exp_f32(x)), bits_of(s),
                bits_of(c));
  }
  for (double x : double_inputs()) {
    double s, c;
    sincospi_f64(x, &s, &c);
    std::printf("f64 %016" PRIx64 ": log %016" PRIx64 " log1p %016" PRIx64 " exp %016" PRIx64
                " sinpi %016" PRIx64 " cospi %016" PRIx64 "\n",
                bits_of(x), bits_of(log_f64(x)), bits_of(log1p_f64(x)), bits_of(exp_f64(x)),
                bits_of(s), bits_of(c));
  }
  return 0;
}
