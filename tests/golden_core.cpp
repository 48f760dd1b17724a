// Prints the golden table of rb's core: derive_key, the counter layout, MT states and conversions.
// CTest builds it at two optimisation levels and with a second compiler and compares each output
// with tests/golden/core.txt; scripts/update_golden.sh rewrites that file (a breaking change: see
// the README's changelog).
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "rb/core.hpp"

namespace {

std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
std::uint64_t double_bits(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}

}  // namespace

int main() {
  using namespace rb;
  std::printf("kStreamVersion %u\n", kStreamVersion);

  const std::uint64_t seeds[][2] = {
      {0, 0}, {0, 1}, {1, 0}, {42, 44}, {42, 64}, {42, 128}, {0, 0x100000000ull},
      {0x100000000ull, 0}, {~0ull, ~0ull}, {0x0123456789abcdefull, 0xfedcba9876543210ull}};
  for (const auto& s : seeds) {
    std::printf("derive_key %016" PRIx64 " %016" PRIx64 " = %016" PRIx64 "\n", s[0], s[1],
                key_value(derive_key(s[0], s[1])));
  }

  const Key key = derive_key(42, 64);
  for (std::uint32_t domain = 0; domain <= 4; ++domain) {
    for (std::uint64_t position : {0ull, 1ull, 0xffffffffull, 0x100000000ull, ~0ull}) {
      Stream s = make_stream(key, static_cast<Domain>(domain), domain == 0 ? 0u : 3u);
      s.base = position;
      const Counter out = s.draw(0);
      std::printf("stream domain %u sub %u position %016" PRIx64 " = %08x %08x %08x %08x\n", domain,
                  s.substream, position, out.v[0], out.v[1], out.v[2], out.v[3]);
    }
  }

  for (Domain d : {Domain::torch_cpu, Domain::python_random, Domain::numpy}) {
    const auto mt = detail::mt_state(key, d);
    std::printf("mt_state domain %u = %08x %08x %08x ... %08x %08x\n", static_cast<unsigned>(d),
                mt[0], mt[1], mt[2], mt[622], mt[623]);
  }
  std::printf("cuda_seed = %016" PRIx64 "\n", detail::cuda_seed(key));

  const std::uint32_t words[] = {0u, 1u, 0xffu, 0x100u, 0x7fffffffu, 0x80000000u, 0x12345678u,
                                 0xdeadbeefu, 0xffffffffu};
  for (std::uint32_t w : words) {
    std::printf("u32 %08x: float %08x half %08x bfloat16 %08x bounded32(10) %u bounded32(2^32-1) %u\n",
                w, float_bits(uniform_float(w)), float_bits(uniform_half(w)),
                float_bits(uniform_bfloat16(w)), bounded32(w, 10), bounded32(w, 0xffffffffull));
  }
  const std::uint64_t xs[] = {0ull, 0x7ffull, 0x800ull, 0x8000000000000000ull,
                              0x0123456789abcdefull, ~0ull};
  for (std::uint64_t x : xs) {
    std::printf("u64 %016" PRIx64 ": double %016" PRIx64 " bounded64(10^12) %" PRIu64 "\n", x,
                double_bits(uniform_double(x)), bounded64(x, 1000000000000ull));
  }
  return 0;
}
