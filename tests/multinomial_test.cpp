// rb's CPU multinomial (Note [multinomial on the CPU]) draws what Note [multinomial]'s tensor
// formulation draws (the CUDA path), bit for bit: the same stream elements, the same cumulative
// sums and searches, the same order of keys, ties and zero probabilities included.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"

namespace rb {
namespace {

/// Note [multinomial] as torch tensor ops, drawing from `g`.
torch::Tensor reference(const torch::Tensor& self, std::int64_t n, bool replacement,
                        at::Generator g) {
  const torch::Tensor p = (self.dim() == 1 ? self.unsqueeze(0) : self).to(torch::kDouble);
  const std::int64_t rows = p.size(0), categories = p.size(1);
  torch::Tensor out;
  if (replacement) {
    const torch::Tensor cdf = p.cumsum(1);
    const torch::Tensor total = cdf.select(1, categories - 1).unsqueeze(1);
    torch::Tensor u = torch::empty({rows, n}, p.options()).uniform_(0, 1, g);
    u = torch::minimum(u.mul_(total), torch::nextafter(total, torch::zeros_like(total)));
    out = torch::searchsorted(cdf, u, /*out_int32=*/false, /*right=*/true);
  } else {
    torch::Tensor keys = torch::empty({rows, categories}, p.options()).exponential_(1, g);
    keys.div_(p).masked_fill_(p.le(0), std::numeric_limits<double>::infinity());
    out = std::get<1>(keys.sort(/*stable=*/true, 1, false)).narrow(1, 0, n);
  }
  return self.dim() == 1 ? out.squeeze(0) : out;
}

void expect_as_reference(const char* what, const torch::Tensor& p, std::int64_t n,
                         bool replacement) {
  at::Generator g = make_generator(3);
  at::Generator copy = g.clone();
  const torch::Tensor got = torch::multinomial(p, n, replacement, g);
  const torch::Tensor expected = reference(p, n, replacement, copy);
  EXPECT_TRUE(torch::equal(got, expected)) << what << (replacement ? ", with" : ", without");
  EXPECT_EQ(g.get_offset(), copy.get_offset()) << what;  // the same advance
}

TEST(Multinomial, CpuPathDrawsWhatTheTensorFormulationDraws) {
  set_seed(42);
  at::Generator g = make_generator(9);
  // About 50 nonzero categories a row, scattered: zero ones (key +inf) come before and after them.
  torch::Tensor zeros = torch::rand({3, 400}, g).masked_fill_(torch::rand({3, 400}, g) < 0.875, 0);
  torch::Tensor tiny = torch::rand({2, 300}, g, torch::kDouble);
  tiny.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 100)}, 1e-320);  // E/p = inf
  const std::vector<std::pair<const char*, torch::Tensor>> inputs = {
      {"float32 5x3000", torch::rand({5, 3000}, g)},
      {"float64 2x5000", torch::rand({2, 5000}, g, torch::kDouble)},
      {"float16 3x700", torch::rand({3, 700}, g).to(torch::kHalf)},
      {"bfloat16 3x700", torch::rand({3, 700}, g).to(torch::kBFloat16)},
      {"1-D 10000", torch::rand({10000}, g)},
      {"mostly zero", zeros},
      {"subnormal", tiny},
      {"equal weights", torch::ones({4, 257})},
  };
  for (const auto& [what, p] : inputs) {
    const std::int64_t categories = p.size(-1);
    for (std::int64_t n : {std::int64_t{1}, std::int64_t{100}, categories}) {
      expect_as_reference(what, p, n, /*replacement=*/false);
      expect_as_reference(what, p, n, /*replacement=*/true);
    }
    expect_as_reference(what, p, 3 * categories, /*replacement=*/true);
  }
}

// With replacement each sample is a branch-free binary search of its row's cumulative sums: every
// row length up to 40 and around two larger powers of two its halving meets, with runs of equal
// sums (zero weights) and with small integer weights.
TEST(Multinomial, SearchesAsSearchsortedAtEveryRowLength) {
  set_seed(42);
  at::Generator g = make_generator(6);
  std::vector<std::int64_t> lengths;
  for (std::int64_t c = 1; c <= 40; ++c) lengths.push_back(c);
  for (std::int64_t c : {63, 64, 65, 1023, 1024, 1025}) lengths.push_back(c);
  for (std::int64_t c : lengths) {
    const std::string what = std::to_string(c) + " categories";
    const torch::Tensor weights = torch::rand({3, c}, g, torch::kDouble);
    torch::Tensor sparse = weights.masked_fill(torch::rand({3, c}, g) < 0.5, 0);
    torch::Tensor integers = (weights * 4).floor_();  // 0 to 3
    sparse.select(1, c - 1).fill_(0.25);              // no row sums to 0
    integers.select(1, c - 1).fill_(1);
    expect_as_reference((what + ", uniform weights").c_str(), weights, 64, /*replacement=*/true);
    expect_as_reference((what + ", half zero").c_str(), sparse, 64, /*replacement=*/true);
    expect_as_reference((what + ", small integers").c_str(), integers, 64, /*replacement=*/true);
  }
}

TEST(Multinomial, PhiloxEngineOnTheCpuDrawsTheSameWithMoreThreads) {
  set_seed(42);
  const torch::Tensor p = torch::rand({32, 2000}, make_generator(4));
  std::vector<torch::Tensor> draws;
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    Block block(5, OnExit::keep, Engine::philox);
    draws.push_back(torch::cat({torch::multinomial(p, 1), torch::multinomial(p, 30, true)}, 1));
  }
  EXPECT_TRUE(torch::equal(draws[0], draws[1]));
}

// Rows are checked in groups on the threads; the error is the first wrong row's, and a refused
// call draws nothing.
TEST(Multinomial, RefusesTheFirstWrongRowWhateverTheThreads) {
  set_seed(42);
  const torch::Tensor p = torch::rand({11, 300}, make_generator(5));
  torch::Tensor zero_first = p.clone(), bad_first = p.clone();
  zero_first[2].zero_();                                                 // row 2 sums to 0
  zero_first[9][7] = std::numeric_limits<float>::quiet_NaN();            // a later row: NaN
  bad_first[1][299] = -1;                                                // row 1: negative
  bad_first[10].zero_();                                                 // the last row, alone
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    for (bool replacement : {false, true}) {
      at::Generator g = make_generator(3);
      const std::uint64_t offset = g.get_offset();
      try {
        torch::multinomial(zero_first, 4, replacement, g);
        ADD_FAILURE() << "a row summing to 0 was accepted";
      } catch (const c10::Error& e) {
        EXPECT_NE(std::string(e.what()).find("sums to 0"), std::string::npos) << e.what();
      }
      try {
        torch::multinomial(bad_first, 4, replacement, g);
        ADD_FAILURE() << "a negative probability was accepted";
      } catch (const c10::Error& e) {
        EXPECT_NE(std::string(e.what()).find("finite and >= 0"), std::string::npos) << e.what();
      }
      EXPECT_EQ(g.get_offset(), offset) << "a refused call advanced the generator";
    }
  }
}

}  // namespace
}  // namespace rb
