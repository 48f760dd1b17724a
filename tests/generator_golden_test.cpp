// Golden values of rb's generator, every sampler and dtype from a fixed seed, and of the philox
// engine's first draws in a block, pinned in tests/golden/generator.txt and checked with each CPU
// instruction set. A difference is a breaking change of the bits a seed produces: bump
// rb::kStreamVersion, rerun with RB_UPDATE_GOLDEN=1 (scripts/update_golden.sh) and say why in the
// README's changelog.
#include <cinttypes>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "isa_test_util.hpp"
#include "rb/generator.hpp"
#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

/// One golden line: the first four elements' bits, and a hash of all of them.
std::string line(const std::string& name, const torch::Tensor& t) {
  std::ostringstream out;
  out << name << " n=" << t.numel() << " first:";
  const auto flat = t.contiguous().view({-1});
  const auto bytes = flat.view(torch::kByte);
  const std::int64_t width = flat.element_size();
  for (std::int64_t i = 0; i < std::min<std::int64_t>(4, flat.numel()); ++i) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, bytes.data_ptr<std::uint8_t>() + i * width, width);
    char buf[24];
    std::snprintf(buf, sizeof buf, " %0*" PRIx64, static_cast<int>(2 * width), bits);
    out << buf;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, test::fnv1a(t));
  out << " fnv1a=" << buf;
  return out.str();
}

std::vector<std::string> golden_lines() {
  rb::set_seed(20261127);
  auto g = make_generator(64);
  const std::int64_t n = 1027;  // not a multiple of 4: the tail of the mapping is pinned too
  std::vector<std::string> lines;
  lines.push_back("kStreamVersion " + std::to_string(kStreamVersion));
  auto add = [&](const std::string& name, const torch::Tensor& t) { lines.push_back(line(name, t)); };
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16}) {
    const std::string d = c10::toString(dtype);
    const auto o = torch::TensorOptions().dtype(dtype);
    add("uniform_(-2,3) " + d, torch::empty({n}, o).uniform_(-2, 3, g));
    add("normal_(1,2) " + d, torch::empty({n}, o).normal_(1, 2, g));
    add("log_normal_(0,0.5) " + d, torch::empty({n}, o).log_normal_(0, 0.5, g));
    add("exponential_(1.5) " + d, torch::empty({n}, o).exponential_(1.5, g));
    add("cauchy_(0,1) " + d, torch::empty({n}, o).cauchy_(0, 1, g));
    add("geometric_(0.3) " + d, torch::empty({n}, o).geometric_(0.3, g));
    add("bernoulli_(0.3) " + d, torch::empty({n}, o).bernoulli_(0.3, g));
    add("random_() " + d, torch::empty({n}, o).random_(g));
  }
  for (auto dtype : {torch::kByte, torch::kChar, torch::kShort, torch::kInt, torch::kLong, torch::kBool}) {
    const std::string d = c10::toString(dtype);
    const auto o = torch::TensorOptions().dtype(dtype);
    add("random_() " + d, torch::empty({n}, o).random_(g));
    add("bernoulli_(0.7) " + d, torch::empty({n}, o).bernoulli_(0.7, g));
    if (dtype != torch::kBool) add("geometric_(0.3) " + d, torch::empty({n}, o).geometric_(0.3, g));
  }
  add("random_(int64 min, None) Long",
      torch::empty({n}, torch::kLong).random_(std::numeric_limits<std::int64_t>::min(), std::nullopt, g));
  add("randint(-5, 995) Long", torch::randint(-5, 995, {n}, g));
  add("randint(0, 2^40) Long", torch::randint(0, 1ll << 40, {n}, g));
  add("randperm(1027)", torch::randperm(n, g));
  add("bernoulli(p tensor) Float", torch::bernoulli(torch::linspace(0, 1, n), g));
  add("multinomial(3x50, 20, without)", torch::multinomial(torch::linspace(0, 1, 150).view({3, 50}), 20, false, g));
  add("multinomial(3x50, 40, with)", torch::multinomial(torch::linspace(0, 1, 150).view({3, 50}), 40, true, g));
  add("normal(mean, std) Float", at::normal(torch::linspace(-1, 1, n), torch::linspace(0, 2, n), g));
  // The kernels' shortcuts, which must give the general formulas' bits: uniform on [0, 1) and
  // exponential with a power-of-two rate (src/samplers.hpp).
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16}) {
    const std::string d = c10::toString(dtype);
    const auto o = torch::TensorOptions().dtype(dtype);
    add("uniform_(0,1) " + d, torch::empty({n}, o).uniform_(0, 1, g));
    add("exponential_(1) " + d, torch::empty({n}, o).exponential_(1, g));
    add("exponential_(0.5) " + d, torch::empty({n}, o).exponential_(0.5, g));
  }
  // normal_ with std 1 (torch.randn's), whose kernels skip the multiplication by 1.
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16}) {
    const std::string d = c10::toString(dtype);
    const auto o = torch::TensorOptions().dtype(dtype);
    add("normal_(0,1) " + d, torch::empty({n}, o).normal_(0, 1, g));
    add("normal_(-3,1) " + d, torch::empty({n}, o).normal_(-3, 1, g));
  }
  // The philox engine: generator-less ops in a block, each from a ticket of torch's CPU generator
  // (Note [Philox engine streams]); and the engine mark the block puts in its seed field.
  Block block(64, OnExit::keep, Engine::philox);
  lines.push_back("philox block 64: torch initial_seed " + std::to_string(at::detail::getDefaultCPUGenerator().current_seed()));
  add("philox block: rand Float", torch::rand({n}));
  add("philox block: randn Double", torch::randn({n}, torch::kDouble));
  add("philox block: randint(0, 10) Long", torch::randint(0, 10, {n}));
  add("philox block: dropout(0.3) Float", torch::dropout(torch::ones({n}), 0.3, true));
  add("philox block: randperm(1027)", torch::randperm(n));
  add("philox block: rand Half", torch::rand({n}, torch::kHalf));
  return lines;
}

std::string golden_path() { return RB_GOLDEN_DIR "/generator.txt"; }

TEST(GeneratorGolden, EverySamplerAndDtypeMatchesTheGoldenTable) {
  if (const char* update = std::getenv("RB_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream out(golden_path());
    for (const auto& l : golden_lines()) out << l << "\n";
    GTEST_SKIP() << "RB_UPDATE_GOLDEN=1: rewrote " << golden_path();
  }
  std::ifstream in(golden_path());
  ASSERT_TRUE(in) << "missing " << golden_path() << ": generate it with scripts/update_golden.sh";
  std::vector<std::string> golden;
  for (std::string l; std::getline(in, l);) golden.push_back(l);
  // Every instruction set of the CPU kernels that this CPU runs. See Note [CPU instruction sets].
  test::for_each_cpu_isa([&](const std::string& isa) {
    const auto lines = golden_lines();
    ASSERT_EQ(golden.size(), lines.size()) << isa << ": the golden table has another number of lines";
    int differences = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i] != golden[i]) {
        ++differences;
        ADD_FAILURE() << isa << ": line " << i + 1 << "\n  golden: " << golden[i] << "\n  actual: " << lines[i];
      }
    }
    EXPECT_EQ(differences, 0) << isa << ": the bits a seed produces changed: if deliberate, bump "
                                 "rb::kStreamVersion, run scripts/update_golden.sh and write why in "
                                 "the README's changelog";
  });
}

}  // namespace
}  // namespace rb
