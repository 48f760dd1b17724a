// rb::philox against Random123's known answers and its C++ API; derive_key, Stream, conversions.
#include <bitset>
#include <cmath>
#include <cstring>
#include <random>
#include <type_traits>

#include <gtest/gtest.h>

#include <Random123/philox.h>

#include "kat.hpp"
#include "rb/core.hpp"
#include "rb/sampling.hpp"

namespace rb {
namespace {

Counter philox_with_rounds(unsigned rounds, Counter c, Key k) {
  switch (rounds) {
    case 7: return philox_rounds<7>(c, k);
    case 10: return philox_rounds<10>(c, k);
    default: ADD_FAILURE() << "no Philox4x32 instantiation for " << rounds << " rounds"; return {};
  }
}

TEST(Philox, MatchesRandom123KnownAnswers) {
  const auto vectors = test::read_philox4x32_kat(test::kat_path());
  ASSERT_GE(vectors.size(), 6u) << "expected the 7- and 10-round philox4x32 lines";
  int ten_rounds = 0;
  for (const auto& v : vectors) {
    const Counter got = philox_with_rounds(v.rounds, v.counter, v.key);
    EXPECT_EQ(got, v.expected) << "philox4x32 " << v.rounds << " rounds, counter " << std::hex
                               << v.counter.v[0] << " " << v.counter.v[1] << " " << v.counter.v[2]
                               << " " << v.counter.v[3];
    if (v.rounds == 10) {
      EXPECT_EQ(philox(v.counter, v.key), v.expected);
      ++ten_rounds;
    }
  }
  EXPECT_GE(ten_rounds, 3);
}

TEST(Philox, MatchesRandom123CppApiOnRandomInputs) {
  std::mt19937_64 source(20261127);
  r123::Philox4x32 reference;
  for (int i = 0; i < 1'000'000; ++i) {
    const std::uint64_t a = source(), b = source(), k = source();
    const Counter c{{lo32(a), hi32(a), lo32(b), hi32(b)}};
    const Key key = make_key(k);
    const r123::Philox4x32::ctr_type rc = {{c.v[0], c.v[1], c.v[2], c.v[3]}};
    const r123::Philox4x32::key_type rk = {{key.v[0], key.v[1]}};
    const auto expected = reference(rc, rk);
    const Counter got = philox(c, key);
    ASSERT_EQ(got, (Counter{{expected.v[0], expected.v[1], expected.v[2], expected.v[3]}}))
        << "input " << i;
  }
}

int popcount64(std::uint64_t x) { return static_cast<int>(std::bitset<64>(x).count()); }

TEST(DeriveKey, EachSeedBitFlipsAboutHalfTheKey) {
  std::mt19937_64 source(7);
  double total = 0;
  int trials = 0, worst = 64, best = 0;
  for (int t = 0; t < 64; ++t) {
    const std::uint64_t s = source(), b = source();
    const std::uint64_t base = key_value(derive_key(s, b));
    for (int bit = 0; bit < 64; ++bit) {
      const std::uint64_t flip = std::uint64_t{1} << bit;
      for (const std::uint64_t other : {key_value(derive_key(s ^ flip, b)),
                                         key_value(derive_key(s, b ^ flip))}) {
        const int d = popcount64(base ^ other);
        total += d;
        ++trials;
        worst = std::min(worst, d);
        best = std::max(best, d);
      }
    }
  }
  const double mean = total / trials;
  // 8192 trials of Binomial(64, 1/2): the mean is 32 +- 0.05 (1 sigma).
  EXPECT_NEAR(mean, 32.0, 0.5) << "min " << worst << " max " << best;
  EXPECT_GE(worst, 8);
}

TEST(DeriveKey, DistinctPairsGiveDistinctKeys) {
  std::vector<std::uint64_t> keys;
  for (std::uint64_t s : {0ull, 1ull, 42ull, 0xffffffffull, 0x100000000ull}) {
    for (std::uint64_t b = 0; b < 2000; ++b) keys.push_back(key_value(derive_key(s, b)));
    for (std::uint64_t b : {0x100000000ull, 0x200000000ull, ~0ull, ~0ull - 1})
      keys.push_back(key_value(derive_key(s, b)));
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end());
}

TEST(DeriveKey, SeedsThatDifferOnlyAboveBit32GiveDifferentKeys) {
  EXPECT_NE(derive_key(5, 7), derive_key(5 + (1ull << 32), 7));
  EXPECT_NE(derive_key(5, 7), derive_key(5, 7 + (1ull << 32)));
  EXPECT_NE(derive_key(0, 0), derive_key(0, 1ull << 63));
}

TEST(Stream, IsTriviallyCopyableAndSmall) {
  static_assert(std::is_trivially_copyable_v<Stream>);
  static_assert(std::is_standard_layout_v<Stream>);
  static_assert(sizeof(Stream) == 24);
}

TEST(Stream, CounterLayout) {
  const Key key = derive_key(1, 2);
  Stream s = make_stream(key, Domain::torch_cuda, 9);
  s.base = 0x00000001fffffffeull;
  const Counter c = s.counter(3);  // position 0x2_00000001
  EXPECT_EQ(c.v[0], 0x00000001u);
  EXPECT_EQ(c.v[1], 0x00000002u);
  EXPECT_EQ(c.v[2], static_cast<std::uint32_t>(Domain::torch_cuda));
  EXPECT_EQ(c.v[3], 9u);
  EXPECT_EQ(s.draw(3), philox(c, key));
  // Positions wrap modulo 2^64.
  s.base = ~0ull;
  EXPECT_EQ(s.counter(1).v[0], 0u);
  EXPECT_EQ(s.counter(1).v[1], 0u);
}

TEST(Stream, SkipAheadEqualsDrawing) {
  const Stream s = make_stream(derive_key(3, 4), Domain::rb_stream);
  std::vector<Counter> drawn;
  for (std::uint64_t i = 0; i < 1000; ++i) drawn.push_back(s.draw(i));
  for (std::uint64_t k : {0ull, 1ull, 17ull, 999ull}) {
    const Stream t = s.skip(k);
    for (std::uint64_t i = 0; i + k < 1000; i += 7) ASSERT_EQ(t.draw(i), drawn[i + k]);
  }
  EXPECT_EQ(s.skip(1000).skip(24).base, s.skip(1024).base);
}

TEST(Stream, DomainsAndSubstreamsNeverShareACounter) {
  const Key key = derive_key(11, 12);
  const Stream a = make_stream(key, Domain::rb_stream);
  const Stream b = make_stream(key, Domain::torch_cpu);
  const Stream c = make_stream(key, Domain::rb_stream, 1);
  for (std::uint64_t i = 0; i < 100; ++i) {
    EXPECT_NE(a.draw(i), b.draw(i));
    EXPECT_NE(a.draw(i), c.draw(i));
  }
}

TEST(Convert, UniformsAtTheEnds) {
  EXPECT_EQ(uniform_float(0u), 0.0f);
  EXPECT_EQ(uniform_float(0xffffffffu), 1.0f - 0x1p-24f);
  EXPECT_LT(uniform_float(0xffffffffu), 1.0f);
  EXPECT_EQ(uniform_half(0u), 0.0f);
  EXPECT_EQ(uniform_half(0xffffffffu), 1.0f - 0x1p-11f);
  EXPECT_EQ(uniform_bfloat16(0u), 0.0f);
  EXPECT_EQ(uniform_bfloat16(0xffffffffu), 1.0f - 0x1p-8f);
  EXPECT_EQ(uniform_double(0u), 0.0);
  EXPECT_EQ(uniform_double(~0ull), 1.0 - 0x1p-53);
  EXPECT_LT(uniform_double(~0ull), 1.0);
  // The high bits decide: a word with only its low bits set is 0.
  EXPECT_EQ(uniform_float(0xffu), 0.0f);
  EXPECT_EQ(uniform_float(0x100u), 0x1p-24f);
  EXPECT_EQ(uniform_double(0x7ffull), 0.0);
  EXPECT_EQ(uniform_double(0x800ull), 0x1p-53);
}

TEST(Convert, Word64TakesLowThenHighWord) {
  const Counter out{{0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u}};
  EXPECT_EQ(word64(out, 0), 0x2222222211111111ull);
  EXPECT_EQ(word64(out, 1), 0x4444444433333333ull);
}

TEST(Convert, ExactDoubleIsTheConversion) {
  // Around the 2^31 offset and the 2^32 split of its two halves, and up to 2^53 - 1.
  for (std::uint64_t v : {0ull, 1ull, 0x7fffffffull, 0x80000000ull, 0x80000001ull, 0xffffffffull,
                          0x100000000ull, 0x100000001ull, 0x17fffffffull, 1ull << 52, (1ull << 53) - 1}) {
    EXPECT_EQ(detail::exact_double(v), static_cast<double>(v)) << v;
  }
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t v = rng() >> (11 + i % 40);
    ASSERT_EQ(detail::exact_double(v), static_cast<double>(v)) << v;
  }
}

TEST(Convert, CeilPositiveIsCeil) {
  for (double v : {0x1p-1074, 0.25, 0.5, 1.0, 1.5, 2.5, 3.0, 0x1p52 - 1.5, 0x1p52 - 0.5, 0x1p52 - 1.0,
                   0x1p52, 0x1p52 + 2.0, 1e300, HUGE_VAL}) {
    EXPECT_EQ(detail::ceil_positive(v), std::ceil(v)) << v;
    EXPECT_EQ(detail::ceil_positive(static_cast<float>(v)), std::ceil(static_cast<float>(v))) << v;
  }
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 100000; ++i) {
    const double v = unit(rng) * std::ldexp(1.0, i % 60);  // from below 1 to beyond 2^52
    if (v > 0) ASSERT_EQ(detail::ceil_positive(v), std::ceil(v)) << v;
  }
}

TEST(Convert, BoundedIntegersByMultiplyHigh) {
  EXPECT_EQ(bounded32(0u, 10), 0u);
  EXPECT_EQ(bounded32(0xffffffffu, 10), 9u);
  EXPECT_EQ(bounded32(0x80000000u, 10), 5u);
  EXPECT_EQ(bounded32(0xffffffffu, std::uint64_t{1} << 32), 0xffffffffu);
  EXPECT_EQ(bounded64(~0ull, 3), 2u);
  EXPECT_EQ(bounded64(0, 3), 0u);
  EXPECT_EQ(bounded64(1ull << 63, 1000), 500u);
  EXPECT_EQ(mulhi64(~0ull, ~0ull), ~0ull - 1);
}

TEST(MtState, FillsEveryWordAndIsNeverDegenerate) {
  const auto a = detail::mt_state(derive_key(1, 0), Domain::torch_cpu);
  const auto b = detail::mt_state(derive_key(1, 0), Domain::numpy);
  EXPECT_NE(a, b);
  EXPECT_NE(a[0] & 0x80000000u, 0u);
  const Counter last = make_stream(derive_key(1, 0), Domain::torch_cpu).draw(155);
  EXPECT_EQ(a[623], last.v[3]);
  EXPECT_EQ(a[620], last.v[0]);
}

}  // namespace
}  // namespace rb
