// The CPU kernels' Philox batches (src/cpu/philox_batch.hpp) against Random123, for every
// instruction set this CPU runs: every count, tail and counter carry, and fills across the carry.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "fill.hpp"
#include "isa_test_util.hpp"
#include "rb/generator.hpp"
#include "rb/rb.hpp"
#include "rb/sampling.hpp"

namespace rb {
namespace {

TEST(PhiloxBatch, EveryInstructionSetGivesRandom123sWords) {
  const std::vector<Key> keys = {derive_key(1, 2), Key{{0xffffffffu, 0xffffffffu}}};
  // (domain, substream): c2 and c3 of the counter, down to all-ones
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> tags = {
      {0, 0}, {1, 5}, {0xffffffffu, 0xfffffffeu}};
  // Positions whose counters carry into c1 (2^32) and wrap (2^64) inside a batch.
  const std::vector<std::uint64_t> bases = {0, 0xffffffffull - 6, ~0ull - 8};
  // Counts around the vector widths (4, 8, 16 counters) and batch sizes, and block entry's 156.
  const std::vector<std::uint64_t> counts = {0, 1, 3, 15, 16, 17, 63, 64, 65, 156, 1000};
  constexpr std::uint32_t kSentinel = 0xdeadbeefu;
  test::for_each_cpu_isa([&](const std::string& isa) {
    for (const Key& key : keys) {
      for (auto [domain, substream] : tags) {
        for (std::uint64_t base : bases) {
          Stream s{key, domain, substream, base};
          for (std::uint64_t n : counts) {
            std::vector<std::uint32_t> out(4 * n + 4, kSentinel);
            detail::philox_words(s, 3, n, out.data());
            for (std::uint64_t j = 0; j < n; ++j) {
              const Counter expected = s.draw(3 + j);
              for (int w = 0; w < 4; ++w) {
                ASSERT_EQ(out[4 * j + w], expected.v[w])
                    << isa << ": word " << w << " of counter " << j << " of " << n << ", base " << base
                    << ", domain " << domain << ", substream " << substream;
              }
            }
            for (int w = 0; w < 4; ++w) ASSERT_EQ(out[4 * n + w], kSentinel) << isa << ": wrote past " << n;
          }
        }
      }
    }
  });
}

TEST(PhiloxBatch, FillsAcrossTheCarryIntoC1FollowTheElementMapping) {
  rb::set_seed(5);
  const std::uint64_t offset = 0xffffffffull - 40;  // the fill's counters cross 2^32
  const Stream s = make_stream(derive_key(5, 6), Domain::rb_stream).skip(offset);
  const std::int64_t n = 1001;
  test::for_each_cpu_isa([&](const std::string& isa) {
    auto gen = make_generator(6);
    gen.set_offset(offset);
    const auto u = torch::rand({n}, gen);
    gen.set_offset(offset);
    const auto d = torch::rand({n}, gen, torch::kDouble);
    gen.set_offset(offset);
    const auto z = torch::randn({n}, gen);
    for (std::int64_t i = 0; i < n; ++i) {
      const Counter c32 = s.draw(static_cast<std::uint64_t>(i / 4));
      ASSERT_EQ(u[i].item<float>(), uniform_float(c32.v[i % 4])) << isa << ": element " << i;
      const Counter c64 = s.draw(static_cast<std::uint64_t>(i / 2));
      ASSERT_EQ(d[i].item<double>(), uniform_double(join64(c64.v[2 * (i % 2)], c64.v[2 * (i % 2) + 1])))
          << isa << ": element " << i;
      if (i % 2 == 0) {
        float z0, z1;
        normal_pair(c32.v[i % 4], c32.v[i % 4 + 1], &z0, &z1);
        ASSERT_EQ(z[i].item<float>(), z0) << isa << ": element " << i;
        if (i + 1 < n) ASSERT_EQ(z[i + 1].item<float>(), z1) << isa << ": element " << i + 1;
      }
    }
  });
}

}  // namespace
}  // namespace rb
