// rb's LibTorch generator on the CPU: the element mapping, thread-count and instruction-set
// independence, distributions, state, errors, and rb::reserve for kernels.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "fill.hpp"
#include "isa_test_util.hpp"
#include "ops.hpp"
#include "rb/generator.hpp"
#include "rb/rb.hpp"
#include "rb/sampling.hpp"
#include "samplers.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

using test::same_bits;

class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rb::set_seed(2024);
    test::set_threads(2);
  }
};

/// Word i % 4 of philox(counter(i / 4)) of a stream at position `base`: Note [Element mapping].
std::uint32_t word32(const Stream& s, std::int64_t i) { return s.draw(static_cast<std::uint64_t>(i / 4)).v[i % 4]; }
std::uint64_t word64_of(const Stream& s, std::int64_t i) {
  return word64(s.draw(static_cast<std::uint64_t>(i / 2)), static_cast<unsigned>(i % 2));
}

Stream block_stream(std::uint64_t block) { return make_stream(derive_key(2024, block), Domain::rb_stream); }

TEST_F(GeneratorTest, RandFollowsTheElementMappingAndAdvances) {
  auto gen = make_generator(7);
  const std::int64_t n = 1001;
  const auto a = torch::rand({n}, gen);
  const Stream s = block_stream(7);
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(a[i].item<float>(), uniform_float(word32(s, i))) << "element " << i;
  }
  EXPECT_EQ(gen.get_offset(), static_cast<std::uint64_t>((n + 3) / 4));
  const auto b = torch::rand({n}, gen, torch::kDouble);
  const Stream t = s.skip((n + 3) / 4);
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(b[i].item<double>(), uniform_double(word64_of(t, i))) << "element " << i;
  }
  EXPECT_EQ(gen.get_offset(), static_cast<std::uint64_t>((n + 3) / 4 + (n + 1) / 2));
}

TEST_F(GeneratorTest, HalfAndBfloat16UniformsTakeTheirTopBits) {
  auto gen = make_generator(8);
  const auto h = torch::rand({64}, gen, torch::kHalf).to(torch::kFloat);
  const auto b = torch::rand({64}, gen, torch::kBFloat16).to(torch::kFloat);
  const Stream s = block_stream(8);
  for (std::int64_t i = 0; i < 64; ++i) {
    EXPECT_EQ(h[i].item<float>(), uniform_half(word32(s, i)));
    EXPECT_EQ(b[i].item<float>(), uniform_bfloat16(word32(s.skip(16), i)));
  }
}

TEST_F(GeneratorTest, NormalIsBoxMullerOnPairsSharingAnOutput) {
  auto gen = make_generator(9);
  const std::int64_t n = 37;  // odd: the last pair's second value is dropped
  const auto z = torch::randn({n}, gen);
  const Stream s = block_stream(9);
  for (std::int64_t j = 0; 2 * j < n; ++j) {
    float z0, z1;
    normal_pair(word32(s, 2 * j), word32(s, 2 * j + 1), &z0, &z1);
    EXPECT_EQ(z[2 * j].item<float>(), z0) << "element " << 2 * j;
    if (2 * j + 1 < n) EXPECT_EQ(z[2 * j + 1].item<float>(), z1) << "element " << 2 * j + 1;
  }
  EXPECT_EQ(gen.get_offset(), static_cast<std::uint64_t>((n + 3) / 4));
  const auto zd = torch::randn({n}, gen, torch::kDouble);
  const Stream t = s.skip((n + 3) / 4);
  for (std::int64_t j = 0; 2 * j < n; ++j) {
    double z0, z1;
    normal_pair(word64_of(t, 2 * j), word64_of(t, 2 * j + 1), &z0, &z1);
    EXPECT_EQ(zd[2 * j].item<double>(), z0);
    if (2 * j + 1 < n) EXPECT_EQ(zd[2 * j + 1].item<double>(), z1);
  }
}

TEST_F(GeneratorTest, IntegersByMultiplyHighWithFixedAdvance) {
  auto gen = make_generator(10);
  const auto r = torch::randint(-5, 995, {100}, gen);  // int64, range 1000: 32-bit elements
  const Stream s = block_stream(10);
  for (std::int64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(r[i].item<std::int64_t>(), -5 + static_cast<std::int64_t>(bounded32(word32(s, i), 1000)));
  }
  EXPECT_EQ(gen.get_offset(), 25u);
  // A range beyond 2^32 takes 64-bit elements.
  const std::int64_t big = std::int64_t{1} << 40;
  const auto w = torch::randint(0, big, {10}, gen);
  const Stream t = s.skip(25);
  for (std::int64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(static_cast<std::uint64_t>(w[i].item<std::int64_t>()), bounded64(word64_of(t, i), big));
  }
  EXPECT_EQ(gen.get_offset(), 30u);
}

TEST_F(GeneratorTest, BernoulliFollowsItsFormulaAtEveryThreshold) {
  // The kernels compare integers (BernoulliBelow32 in src/samplers.hpp); the formula compares w
  // with p 2^32 as doubles. Thresholds below 1, non-integral, integral, and at or near 2^32.
  auto gen = make_generator(11);
  const Stream s = block_stream(11);
  std::uint64_t position = 0;
  const std::int64_t n = 4099;
  for (double p : {0.0, 0x1p-33, 1e-9, 0x1p-32, 0.3, 1.0 / 3, 0.5, 1 - 0x1p-40, 1.0}) {
    for (auto dtype : {torch::kFloat, torch::kByte}) {
      const auto b = torch::empty({n}, dtype).bernoulli_(p, gen).to(torch::kInt);
      const Stream t = s.skip(position);
      const auto* v = b.data_ptr<std::int32_t>();
      for (std::int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(v[i], bernoulli(word32(t, i), p) ? 1 : 0) << "p=" << p << " element " << i;
      }
      position += (n + 3) / 4;
    }
  }
  EXPECT_EQ(gen.get_offset(), position);
  // The words at the edge of each threshold, which random words hardly ever hit.
  for (double p : {0x1p-33, 1e-9, 0x1p-32, 0.3, 1.0 / 3, 0.5, 1 - 0x1p-33, 1 - 0x1p-40, 1.0, 2.0}) {
    detail::BernoulliBelow32<float> below{};
    ASSERT_TRUE(detail::BernoulliBelow32<float>::make(p, &below)) << p;
    const auto edge = static_cast<std::uint32_t>(std::min(p * 0x1p32, 0x1p32 - 1));
    for (std::uint32_t w : {0u, 1u, edge - 1, edge, edge + 1, 0xfffffffeu, 0xffffffffu}) {
      EXPECT_EQ(below(w, 0), bernoulli(w, p) ? 1.0f : 0.0f) << "p=" << p << " w=" << w;
    }
  }
  detail::BernoulliBelow32<float> unused{};
  EXPECT_FALSE(detail::BernoulliBelow32<float>::make(0.0, &unused));
}

TEST_F(GeneratorTest, SameBlockSameBitsDifferentBlocksDiffer) {
  EXPECT_TRUE(same_bits(torch::randn({500}, make_generator(3)), torch::randn({500}, make_generator(3))));
  EXPECT_FALSE(torch::equal(torch::randn({500}, make_generator(3)), torch::randn({500}, make_generator(4))));
  EXPECT_FALSE(torch::equal(torch::randn({500}, make_generator(1ull << 32)), torch::randn({500}, make_generator(0))));
}

TEST_F(GeneratorTest, WritesNonContiguousTensorsInRowMajorOrder) {
  auto a = torch::empty({5, 4}).t();  // a 4x5 view, not contiguous
  ASSERT_FALSE(a.is_contiguous());
  a.uniform_(0, 1, make_generator(11));
  EXPECT_TRUE(same_bits(a.contiguous(), torch::rand({4, 5}, make_generator(11))));
}

/// Every op and dtype the generator covers, drawn from block `block`, concatenated as bytes.
torch::Tensor every_op(std::uint64_t block, std::int64_t n = 4099) {
  auto gen = make_generator(block);
  std::vector<torch::Tensor> parts;
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16}) {
    auto o = torch::TensorOptions().dtype(dtype);
    parts.push_back(torch::empty({n}, o).uniform_(-2, 3, gen));
    parts.push_back(torch::empty({n}, o).normal_(1, 2, gen));
    parts.push_back(torch::empty({n}, o).log_normal_(0, 0.5, gen));
    parts.push_back(torch::empty({n}, o).exponential_(1.5, gen));
    parts.push_back(torch::empty({n}, o).cauchy_(0, 1, gen));
    parts.push_back(torch::empty({n}, o).geometric_(0.3, gen));
    parts.push_back(torch::empty({n}, o).bernoulli_(0.3, gen));
    parts.push_back(torch::empty({n}, o).random_(gen));
  }
  for (auto dtype : {torch::kByte, torch::kChar, torch::kShort, torch::kInt, torch::kLong, torch::kBool}) {
    auto o = torch::TensorOptions().dtype(dtype);
    parts.push_back(torch::empty({n}, o).random_(gen));
    parts.push_back(torch::empty({n}, o).bernoulli_(0.7, gen));
  }
  parts.push_back(torch::empty({n}, torch::kLong).random_(std::numeric_limits<std::int64_t>::min(), std::nullopt, gen));
  parts.push_back(torch::randint(0, 1ll << 40, {n}, gen));
  parts.push_back(torch::randperm(n, gen));
  parts.push_back(torch::bernoulli(torch::rand({n}, gen), gen));
  parts.push_back(torch::multinomial(torch::rand({3, 50}, gen), 20, false, gen));
  parts.push_back(torch::multinomial(torch::rand({3, 50}, gen), 40, true, gen));
  parts.push_back(at::normal(torch::rand({n}, gen), torch::rand({n}, gen), gen));
  std::vector<torch::Tensor> bytes;
  for (auto& p : parts) bytes.push_back(p.contiguous().view({-1}).view(torch::kByte));
  return torch::cat(bytes);
}

TEST_F(GeneratorTest, ThreadCountNeverChangesABit) {
  test::set_threads(1);
  const auto one = every_op(21, 300000);
  test::set_threads(2);
  const auto two = every_op(21, 300000);
  test::set_threads(8);
  const auto eight = every_op(21, 300000);
  test::set_threads(2);
  EXPECT_TRUE(torch::equal(one, two));
  EXPECT_TRUE(torch::equal(one, eight));
}

TEST_F(GeneratorTest, EveryInstructionSetGivesTheSameBits) {
  std::vector<torch::Tensor> results;
  std::vector<std::string> names;
  test::for_each_cpu_isa([&](const std::string& isa) {
    results.push_back(every_op(22));
    names.push_back(isa);
  });
  ASSERT_GE(results.size(), 2u) << "fewer than two instruction sets to compare";
  for (std::size_t i = 1; i < results.size(); ++i) {
    EXPECT_TRUE(torch::equal(results[0], results[i])) << names[0] << " vs " << names[i];
  }
}

TEST_F(GeneratorTest, SkipAheadEqualsDrawing) {
  auto g = make_generator(12);
  torch::rand({400}, g);  // 100 outputs
  const auto drawn = torch::rand({40}, g);
  auto h = make_generator(12);
  h.set_offset(100);
  EXPECT_TRUE(same_bits(torch::rand({40}, h), drawn));
}

TEST_F(GeneratorTest, StateRoundTripsAndClonesAreIndependent) {
  auto g = make_generator(13);
  torch::rand({10}, g);
  const auto state = g.get_state();
  EXPECT_EQ(state.numel(), detail::kGeneratorStateBytes);
  const auto a = torch::rand({100}, g);
  auto c = g.clone();
  const auto b = torch::rand({100}, g);
  EXPECT_TRUE(same_bits(torch::rand({100}, c), b));
  g.set_state(state);
  EXPECT_TRUE(same_bits(torch::rand({100}, g), a));
  EXPECT_EQ(g.current_seed(), 13u);
  g.set_current_seed(14);
  EXPECT_TRUE(same_bits(torch::rand({100}, g), torch::rand({100}, make_generator(14))));
}

TEST_F(GeneratorTest, MalformedStateBytesAreRefusedAndChangeNothing) {
  auto g = make_generator(15);
  torch::rand({10}, g);
  const auto good = g.get_state();
  const auto offset = g.get_offset();
  auto expect_refused = [&](const torch::Tensor& bad, const std::string& says) {
    try {
      g.set_state(bad);
      ADD_FAILURE() << "accepted a malformed state";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
    EXPECT_EQ(g.get_offset(), offset);
  };
  expect_refused(good.narrow(0, 0, 39).clone(), "40");
  expect_refused(good.to(torch::kInt), "uint8");
  auto wrong_magic = good.clone();
  wrong_magic[0] = 0;
  expect_refused(wrong_magic, "magic");
  auto wrong_version = good.clone();
  wrong_version[4] = 99;
  expect_refused(wrong_version, "version");
  wrong_version[4] = 0;
  expect_refused(wrong_version, "version");
  // rb 0.1 wrote stream version 1: the generator's stream is the same, so its states load.
  auto version_one = good.clone();
  version_one[4] = 1;
  auto same = g.clone();
  same.set_state(good);
  g.set_state(version_one);
  EXPECT_EQ(g.get_offset(), offset);
  EXPECT_TRUE(torch::equal(torch::rand({5}, g), torch::rand({5}, same)));
  g.set_state(good);
  auto corrupted = good.clone();
  corrupted[8] = corrupted[8].item<std::uint8_t>() ^ 1;
  expect_refused(corrupted, "corrupted");
}

TEST_F(GeneratorTest, ClearErrors) {
  auto cuda_gen = make_generator(1, torch::Device(torch::kCUDA, 0));
  try {
    torch::rand({3}, cuda_gen);
    ADD_FAILURE() << "a CUDA generator filled a CPU tensor";
  } catch (const rb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("make_generator"), std::string::npos) << e.what();
  }
  EXPECT_THROW(torch::empty({3}, torch::kLong).uniform_(0, 1, make_generator(1)), c10::Error);
  EXPECT_THROW(torch::empty({3}, torch::kComplexFloat).random_(make_generator(1)), std::exception);
  EXPECT_THROW(torch::empty({3}).uniform_(2, 1, make_generator(1)), c10::Error);
  EXPECT_THROW(torch::empty({3}).geometric_(1.5, make_generator(1)), c10::Error);
  try {
    torch::poisson(torch::ones({3}), make_generator(1));
    ADD_FAILURE() << "poisson accepted rb's generator";
  } catch (const rb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not covered"), std::string::npos) << e.what();
  }
  // Torch's own generator still works for the ops rb does not cover.
  EXPECT_NO_THROW(torch::poisson(torch::ones({3})));
}

TEST_F(GeneratorTest, RandpermAndMultinomialAreValid) {
  auto g = make_generator(16);
  for (std::int64_t n : {0, 1, 2, 17, 1000}) {
    const auto p = torch::randperm(n, g);
    EXPECT_TRUE(torch::equal(std::get<0>(p.sort()), torch::arange(n)));
  }
  const auto probs = torch::tensor({0.0, 1.0, 2.0, 0.0, 3.0}, torch::kDouble);
  const auto without = torch::multinomial(probs, 3, false, g);
  EXPECT_TRUE(torch::equal(std::get<0>(without.sort()), torch::tensor({1, 2, 4}, torch::kLong))) << without;
  const auto with = torch::multinomial(probs, 2000, true, g);
  EXPECT_FALSE(with.eq(0).any().item<bool>());
  EXPECT_FALSE(with.eq(3).any().item<bool>());
  // As torch: without replacement, zero-probability categories come after the others (by index).
  EXPECT_EQ(torch::multinomial(probs, 4, false, g)[3].item<std::int64_t>(), 0);
  EXPECT_THROW(torch::multinomial(probs, 6, false, g), c10::Error);  // more samples than categories
}

TEST_F(GeneratorTest, CpuRandpermOrderIsTheStableSortOfItsKeys) {
  const auto full_range = [](std::int64_t n) {
    return torch::randint(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), {n},
                          torch::kLong);
  };
  std::vector<std::pair<std::string, torch::Tensor>> cases;
  for (std::int64_t n : {1, 2, 3, 100, 4097, 100000, (1 << 21) + 5}) {
    auto keys = full_range(n);
    if (n > 3) keys.narrow(0, 0, n / 2).copy_(keys.narrow(0, n / 2, n / 2));  // ties, many
    if (n > 3) keys[1] = keys[0];
    if (n > 3) keys[3] = keys[2].item<std::int64_t>() ^ 1;  // ties in every bit but the lowest
    cases.emplace_back("ties, n=" + std::to_string(n), keys);
  }
  // Groups of 16 consecutive keys that share their top 24 bits, so the counting sort leaves each
  // group in index order: more words out of order than the transposition rounds sort.
  for (std::int64_t n : {64, 4096, 70000}) {
    const auto tops = full_range(n / 16 + 1).index({torch::arange(n).div(16, "floor")});
    const auto low_bits = (std::int64_t{1} << 40) - 1;
    cases.emplace_back("groups, n=" + std::to_string(n),
                       tops.bitwise_and(~low_bits) | full_range(n).bitwise_and(low_bits));
  }
  test::for_each_cpu_isa([&](const std::string& isa) {
    for (const auto& [name, keys] : cases) {
      auto order = torch::empty({keys.numel()}, torch::kLong);
      detail::argsort_keys(keys.data_ptr<std::int64_t>(), keys.numel(), order.data_ptr<std::int64_t>());
      EXPECT_TRUE(torch::equal(order, std::get<1>(keys.sort(/*stable=*/true, 0, false)))) << name << ", " << isa;
    }
  });
}

TEST_F(GeneratorTest, RandpermIsTheStableSortOfTheKeysItDraws) {
  // Past 2^20 the radix sort keeps fewer key bits per word; 2^16 + 1 is the smallest input that
  // takes the first radix pass; 1027 stays one run. Every instruction set makes its own words.
  for (const std::int64_t n : {std::int64_t{1027}, (std::int64_t{1} << 16) + 1, std::int64_t{3} << 20}) {
    const auto keys = torch::empty({n}, torch::kLong).random_(std::numeric_limits<std::int64_t>::min(), std::nullopt,
                                                             make_generator(24));
    const auto expected = std::get<1>(keys.sort(/*stable=*/true, 0, false));
    test::for_each_cpu_isa([&](const std::string& isa) {
      EXPECT_TRUE(torch::equal(torch::randperm(n, make_generator(24)), expected)) << "n=" << n << ", " << isa;
    });
  }
}

TEST_F(GeneratorTest, GeometricStaysInItsSupportAndSaturates) {
  // p so close to 1 that log1p(-p) is -inf in float: every draw is 1, never 0.
  EXPECT_TRUE(torch::empty({64}).geometric_(1 - 1e-8, make_generator(25)).eq(1).all().item<bool>());
  EXPECT_TRUE(torch::empty({64}, torch::kHalf).geometric_(1 - 1e-8, make_generator(25)).eq(1).all().item<bool>());
  // Counts beyond an integer type saturate at its maximum: the float draw, clamped.
  const auto as_float = torch::empty({4096}).geometric_(0.001, make_generator(26));
  const auto as_uint8 = torch::empty({4096}, torch::kByte).geometric_(0.001, make_generator(26));
  EXPECT_TRUE(torch::equal(as_uint8, as_float.clamp_max(255).to(torch::kByte)));
  EXPECT_EQ(torch::empty({16}, torch::kInt).geometric_(1e-12, make_generator(27)).min().item<std::int64_t>(),
            std::numeric_limits<std::int32_t>::max());
}

TEST_F(GeneratorTest, UniformRefusesBoundsItsDtypeCannotHold) {
  auto g = make_generator(28);
  EXPECT_THROW(torch::empty({4}).uniform_(-3e38, 3e38, g), c10::Error);  // the width overflows
  EXPECT_THROW(torch::empty({4}, torch::kHalf).uniform_(0, 1e5, g), c10::Error);
  EXPECT_EQ(g.get_offset(), 0u);  // refused before drawing
}

TEST_F(GeneratorTest, ARefusedCallLeavesTheStreamAlone) {
  auto g = make_generator(29);
  std::int64_t buffer[3];
  auto fixed = torch::from_blob(buffer, {3}, torch::kLong);  // storage that cannot grow
  EXPECT_THROW(at::randperm_out(fixed, 10, g), c10::Error);
  EXPECT_EQ(g.get_offset(), 0u);
}

// ---- distributions: each check prints what it saw when it fails ----------------------------

/// Pearson's chi-square statistic of `counts` against `expected`, with a printable table.
double chi_square(const std::vector<double>& counts, const std::vector<double>& expected, std::string* table) {
  double stat = 0;
  std::ostringstream out;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    stat += (counts[i] - expected[i]) * (counts[i] - expected[i]) / expected[i];
    out << "  bucket " << i << ": saw " << counts[i] << ", expected " << expected[i] << "\n";
  }
  *table = out.str();
  return stat;
}

TEST_F(GeneratorTest, UniformIntegerAndBernoulliPassChiSquare) {
  auto g = make_generator(17);
  const std::int64_t n = 1 << 20;
  std::string table;
  {  // uniform float32 in 64 buckets: 63 degrees of freedom, 99.9% quantile 103.4
    const auto u = torch::rand({n}, g);
    const auto counts = torch::histc(u, 64, 0, 1);
    std::vector<double> c(counts.data_ptr<float>(), counts.data_ptr<float>() + 64), e(64, n / 64.0);
    const double stat = chi_square(c, e, &table);
    EXPECT_LT(stat, 103.4) << "uniform chi-square " << stat << "\n" << table;
  }
  {  // randint(0, 10): 9 degrees of freedom, 99.9% quantile 27.9
    const auto r = torch::randint(0, 10, {n}, g);
    const auto counts = torch::bincount(r, {}, 10);
    std::vector<double> c, e(10, n / 10.0);
    for (int i = 0; i < 10; ++i) c.push_back(counts[i].item<double>());
    const double stat = chi_square(c, e, &table);
    EXPECT_LT(stat, 27.9) << "randint chi-square " << stat << "\n" << table;
  }
  {  // bernoulli(0.3): 1 degree of freedom, 99.9% quantile 10.8
    const double ones = torch::empty({n}).bernoulli_(0.3, g).sum().item<double>();
    const double stat = chi_square({n - ones, ones}, {0.7 * n, 0.3 * n}, &table);
    EXPECT_LT(stat, 10.8) << "bernoulli chi-square " << stat << "\n" << table;
  }
}

/// Kolmogorov-Smirnov distance between the sample and a CDF.
template <class Cdf>
double ks_distance(torch::Tensor sample, Cdf cdf) {
  sample = std::get<0>(sample.to(torch::kDouble).sort());
  const double* x = sample.data_ptr<double>();
  const std::int64_t n = sample.numel();
  double d = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double f = cdf(x[i]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}

TEST_F(GeneratorTest, NormalAndExponentialMatchTheirLaws) {
  auto g = make_generator(18);
  const std::int64_t n = 1 << 18;
  // 1.95 / sqrt(n) is the 0.1% critical value of the KS distance.
  const double critical = 1.95 / std::sqrt(static_cast<double>(n));
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    const auto z = torch::empty({n}, dtype).normal_(0, 1, g);
    const double mean = z.mean().item<double>(), var = z.var().item<double>();
    EXPECT_NEAR(mean, 0.0, 4.0 / std::sqrt(n)) << dtype;
    EXPECT_NEAR(var, 1.0, 4.0 * std::sqrt(2.0 / n)) << dtype;
    const double d = ks_distance(z, [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); });
    EXPECT_LT(d, critical) << dtype << " normal: KS " << d << ", mean " << mean << ", var " << var;
    const auto e = torch::empty({n}, dtype).exponential_(2.0, g);
    EXPECT_GT(e.min().item<double>(), 0.0);
    EXPECT_NEAR(e.mean().item<double>(), 0.5, 4.0 * 0.5 / std::sqrt(n)) << dtype;
    const double de = ks_distance(e, [](double x) { return 1.0 - std::exp(-2.0 * x); });
    EXPECT_LT(de, critical) << dtype << " exponential: KS " << de << ", mean " << e.mean().item<double>();
  }
}

// ---- streams for users' kernels --------------------------------------------------------------

TEST_F(GeneratorTest, ReserveHandsOutConsecutiveRangesThatRepeat) {
  auto take = [] {
    std::vector<Stream> got;
    Block b(33);
    got.push_back(reserve(10));
    got.push_back(reserve(5));
    {
      Block inner(34);
      got.push_back(reserve(7));
    }
    got.push_back(reserve(1));
    return got;
  };
  const auto first = take(), second = take();
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0].base, 0u);
  EXPECT_EQ(first[1].base, 10u);
  EXPECT_EQ(first[3].base, 15u);  // the inner block has its own stream
  EXPECT_EQ(first[2].base, 0u);
  EXPECT_EQ(first[0].key, derive_key(2024, 33));
  EXPECT_EQ(first[2].key, derive_key(2024, 34));
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].base, second[i].base);
    EXPECT_EQ(first[i].key, second[i].key);
  }
  // The generator of a block starts where a fresh reserve starts.
  Block b(35);
  const Stream s = reserve(1);
  EXPECT_EQ(torch::rand({4}, make_generator(35))[0].item<float>(), uniform_float(s.draw(0).v[0]));
}

}  // namespace
}  // namespace rb
