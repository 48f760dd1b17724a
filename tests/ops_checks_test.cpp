// rb's kernels check everything before they draw (a refused call leaves the stream alone), accept
// and refuse what torch's own kernels accept and refuse, and refuse generators that are not rb's.
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

using test::same_bits;
using OptGen = std::optional<at::Generator>;
using Call = std::function<void(const OptGen&)>;

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

class OpsChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::set_threads(2);
    rb::set_seed(31);
  }
  void TearDown() override { EXPECT_EQ(detail::block_depth(), 0u); }
};

/// Whether `call` runs without throwing.
bool accepts(const Call& call, const OptGen& gen) {
  try {
    call(gen);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

/// Calls that torch refuses before writing anything, each on an output rb would draw into: an
/// output whose elements share memory (an expanded tensor), as torch's in-place ops refuse.
std::vector<std::pair<std::string, Call>> overlapping_outputs() {
  auto expanded = [] { return torch::empty({3}).expand({1000, 3}); };
  auto expanded_long = [] { return torch::empty({1}, torch::kLong).expand({10}); };
  const auto p = torch::full({3}, 0.5);
  const auto x = torch::randn({3, 3});
  return {
      {"uniform_", [=](const OptGen& g) { expanded().uniform_(0, 1, g); }},
      {"normal_", [=](const OptGen& g) { expanded().normal_(0, 1, g); }},
      {"log_normal_", [=](const OptGen& g) { expanded().log_normal_(0, 1, g); }},
      {"exponential_", [=](const OptGen& g) { expanded().exponential_(1, g); }},
      {"cauchy_", [=](const OptGen& g) { expanded().cauchy_(0, 1, g); }},
      {"geometric_", [=](const OptGen& g) { expanded().geometric_(0.5, g); }},
      {"bernoulli_(0.5)", [=](const OptGen& g) { expanded().bernoulli_(0.5, g); }},
      {"bernoulli_(p)", [=](const OptGen& g) { expanded().bernoulli_(p, g); }},
      {"random_()", [=](const OptGen& g) { expanded().random_(g); }},
      {"random_(0, 10)", [=](const OptGen& g) { expanded().random_(0, 10, g); }},
      {"random_(10)", [=](const OptGen& g) { expanded().random_(10, g); }},
      {"bernoulli(out=)", [=](const OptGen& g) {
         auto out = expanded();
         at::bernoulli_out(out, p.expand({1000, 3}), g);
       }},
      {"normal(out=)", [=](const OptGen& g) {
         auto out = expanded();
         at::normal_out(out, p.expand({1000, 3}), p.expand({1000, 3}), g);
       }},
      {"randperm(out=)", [=](const OptGen& g) {
         auto out = expanded_long();
         at::randperm_out(out, 10, g);
       }},
      {"multinomial(out=)", [=](const OptGen& g) {
         auto out = expanded_long();
         at::multinomial_out(out, p, 10, true, g);
       }},
      {"rrelu noise", [=](const OptGen& g) {
         auto noise = expanded().narrow(0, 0, 3);
         at::rrelu_with_noise(x, noise, 0.1, 0.3, true, g);
       }},
      {"rrelu out", [=](const OptGen& g) {
         auto out = expanded().narrow(0, 0, 3);
         auto noise = torch::empty({3, 3});
         at::rrelu_with_noise_out(out, x, noise, 0.1, 0.3, true, g);
       }},
      {"rrelu_", [=](const OptGen& g) {
         auto self = expanded().narrow(0, 0, 3);
         auto noise = torch::empty({3, 3});
         at::rrelu_with_noise_(self, noise, 0.1, 0.3, true, g);
       }},
  };
}

TEST_F(OpsChecksTest, ARefusedCallLeavesTheGeneratorAlone) {
  for (const auto& [name, call] : overlapping_outputs()) {
    auto g = make_generator(1);
    EXPECT_FALSE(accepts(call, g)) << name << " wrote into overlapping memory";
    EXPECT_EQ(g.get_offset(), 0u) << name << ": the refused call advanced the stream";
  }
}

TEST_F(OpsChecksTest, ARefusedCallLeavesThePhiloxBlockStreamAlone) {
  torch::Tensor first;  // the block's first draw when nothing came before it
  {
    Block b(2, OnExit::keep, Engine::philox);
    first = torch::rand({8});
  }
  for (const auto& [name, call] : overlapping_outputs()) {
    Block b(2, OnExit::keep, Engine::philox);
    EXPECT_FALSE(accepts(call, std::nullopt)) << name << " wrote into overlapping memory";
    EXPECT_TRUE(same_bits(torch::rand({8}), first))
        << name << ": the refused call advanced the block's stream";
  }
}

// ---- what torch accepts, rb accepts; what torch refuses, rb refuses ---------------------------

const std::vector<torch::ScalarType> kDtypes = {
    torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16, torch::kByte,
    torch::kChar,  torch::kShort,  torch::kInt,  torch::kLong,     torch::kBool};

/// random_(from, to) with the bounds torch checks against (dtype range, 2^digits for floats, the
/// full int64 range), for every dtype.
std::vector<std::pair<std::string, Call>> random_calls() {
  std::vector<std::pair<std::string, Call>> calls;
  const std::vector<std::pair<std::int64_t, std::optional<std::int64_t>>> ranges = {
      {0, 2},
      {-5, 3},
      {0, 1000},
      {0, 70000},
      {0, std::int64_t{1} << 30},
      {-(std::int64_t{1} << 40), std::int64_t{1} << 40},
      {kInt64Min, 0},
      {0, std::nullopt},
      {-5, std::nullopt},
      {-(std::int64_t{1} << 40), std::nullopt},
      {std::int64_t{1} << 40, std::nullopt},
      {kInt64Min, std::nullopt}};
  for (auto dtype : kDtypes) {
    const std::string d = c10::toString(dtype);
    calls.push_back(
        {"random_() " + d, [dtype](const OptGen& g) { torch::empty({64}, dtype).random_(g); }});
    for (std::int64_t to :
         {std::int64_t{1}, std::int64_t{1000}, std::int64_t{1} << 30, std::int64_t{1} << 62}) {
      calls.push_back({"random_(" + std::to_string(to) + ") " + d,
                       [dtype, to](const OptGen& g) { torch::empty({64}, dtype).random_(to, g); }});
    }
    for (const auto& [from, to] : ranges) {
      const std::string name = "random_(" + std::to_string(from) + ", " +
                               (to ? std::to_string(*to) : std::string("None")) + ") " + d;
      calls.push_back({name, [dtype, from = from, to = to](const OptGen& g) {
                         torch::empty({64}, dtype).random_(from, to, g);
                       }});
    }
  }
  return calls;
}

TEST_F(OpsChecksTest, RandomAcceptsWhatTorchAccepts) {
  const at::Generator torch_gen = at::detail::createCPUGenerator(5);
  for (const auto& [name, call] : random_calls()) {
    test::CapturedWarnings quiet;  // both warn about precision beyond 2^digits
    EXPECT_EQ(accepts(call, make_generator(3)), accepts(call, torch_gen)) << name;
  }
}

TEST_F(OpsChecksTest, RandomStaysInItsRangeAndWarnsAsTorchDoes) {
  auto g = make_generator(4);
  {
    test::CapturedWarnings warnings;
    const auto bf = torch::randint(0, 1000, {4096}, g, torch::kBFloat16);
    EXPECT_TRUE(bf.ge(0).all().item<bool>() && bf.lt(1000).all().item<bool>()) << bf.max();
    EXPECT_TRUE(warnings.saw("to - 1 is out of bounds [-(2^8), 2^8]"));
  }
  {
    test::CapturedWarnings warnings;
    const auto f = torch::randint(0, std::int64_t{1} << 30, {4096}, g, torch::kFloat);
    EXPECT_TRUE(f.ge(0).all().item<bool>() &&
                f.lt(static_cast<double>(1 << 30)).all().item<bool>());
    EXPECT_GT(f.max().item<double>(), static_cast<double>(1 << 29));  // the whole range, not 2^24
    EXPECT_TRUE(warnings.saw("2^24"));
  }
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kBFloat16, torch::kLong}) {
    // The full int64 range, as torch allows it for these types: values of both signs.
    const auto full =
        torch::empty({4096}, dtype).random_(kInt64Min, std::nullopt, g).to(torch::kDouble);
    EXPECT_LT(full.min().item<double>(), -1e18) << dtype;
    EXPECT_GT(full.max().item<double>(), 1e18) << dtype;
  }
}

TEST_F(OpsChecksTest, RandpermAndMultinomialAcceptWhatTorchAccepts) {
  std::vector<std::pair<std::string, Call>> calls;
  for (auto dtype : kDtypes) {
    for (std::int64_t n : {0, 2, 300, 3000}) {
      calls.push_back(
          {"randperm(" + std::to_string(n) + ") " + c10::toString(dtype),
           [dtype, n](const OptGen& g) { torch::randperm(n, g, torch::TensorOptions(dtype)); }});
    }
  }
  const auto zeros = torch::tensor({1.0, 0.0, 1.0, 0.0});
  const auto rows = torch::tensor({1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0}).view({2, 4});
  for (bool replacement : {false, true}) {
    const std::string r = replacement ? " with" : " without";
    for (std::int64_t n : {1, 3, 4, 5}) {
      calls.push_back({"multinomial([1,0,1,0], " + std::to_string(n) + ")" + r,
                       [=](const OptGen& g) { torch::multinomial(zeros, n, replacement, g); }});
      calls.push_back({"multinomial(2 rows, " + std::to_string(n) + ")" + r,
                       [=](const OptGen& g) { torch::multinomial(rows, n, replacement, g); }});
    }
    calls.push_back({"multinomial([0,0])" + r, [=](const OptGen& g) {
                       torch::multinomial(torch::zeros({2}), 1, replacement, g);
                     }});
    for (auto dtype : {torch::kLong, torch::kInt, torch::kFloat}) {
      calls.push_back(
          {"multinomial(out=" + std::string(c10::toString(dtype)) + ")" + r, [=](const OptGen& g) {
             auto out = torch::empty({2}, dtype);
             at::multinomial_out(out, zeros, 2, replacement, g);
           }});
    }
  }
  const at::Generator torch_gen = at::detail::createCPUGenerator(5);
  for (const auto& [name, call] : calls) {
    const bool torch_accepts = accepts(call, torch_gen);
    auto g = make_generator(6);
    EXPECT_EQ(accepts(call, g), torch_accepts) << name;
    if (!torch_accepts) EXPECT_EQ(g.get_offset(), 0u) << name << ": refused, yet the stream moved";
  }
}

TEST_F(OpsChecksTest, MultinomialWithoutReplacementDrawsZeroProbabilityCategoriesLast) {
  auto g = make_generator(7);
  const auto drawn = torch::multinomial(torch::tensor({1.0, 0.0, 1.0, 0.0}), 4, false, g);
  EXPECT_TRUE(
      torch::equal(std::get<0>(drawn.narrow(0, 0, 2).sort()), torch::tensor({0, 2}, torch::kLong)))
      << drawn;
  EXPECT_TRUE(torch::equal(drawn.narrow(0, 2, 2), torch::tensor({1, 3}, torch::kLong)))
      << drawn;  // ties by index
}

// ---- generators that are not rb's --------------------------------------------------------------

/// Another library's generator at rb's dispatch key, as torch's own tests build one.
struct ForeignGenerator final : c10::GeneratorImpl {
  ForeignGenerator()
      : c10::GeneratorImpl(c10::Device(c10::kCPU),
                           c10::DispatchKeySet(c10::DispatchKey::CustomRNGKeyId)) {}
  void set_current_seed(std::uint64_t) override {}
  void set_offset(std::uint64_t) override {}
  std::uint64_t get_offset() const override { return 0; }
  std::uint64_t current_seed() const override { return 0; }
  std::uint64_t seed() override { return 0; }
  void set_state(const c10::TensorImpl&) override {}
  c10::intrusive_ptr<c10::TensorImpl> get_state() const override { return {}; }
  ForeignGenerator* clone_impl() const override { return new ForeignGenerator; }
};

TEST_F(OpsChecksTest, AnotherLibrarysGeneratorAtRbsKeyIsRefused) {
  const at::Generator foreign = at::make_generator<ForeignGenerator>();
  const std::vector<std::pair<std::string, Call>> calls = {
      {"rand", [](const OptGen& g) { torch::rand({4}, g); }},
      {"bernoulli_", [](const OptGen& g) { torch::empty({4}).bernoulli_(0.5, g); }},
      {"randperm", [](const OptGen& g) { torch::randperm(4, g); }},
      {"poisson", [](const OptGen& g) { at::poisson(torch::ones({4}), g); }},
  };
  for (const auto& [name, call] : calls) {
    try {
      call(foreign);
      ADD_FAILURE() << name << " accepted another library's generator";
    } catch (const rb::Error& e) {
      EXPECT_NE(std::string(e.what()).find("not one of rb's"), std::string::npos)
          << name << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace rb
