// Block reuse (Note [Block reuse]): a key entered from two call sites warns once per pair, errors
// under Reuse::error before anything changes, and never warns for the same site.
#include <string>
#include <vector>

#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

using test::cpu_state;
using test::same_bits;

// Collects the TORCH_WARN messages issued while it is alive.
class Warnings : public c10::WarningHandler {
 public:
  Warnings() : guard_(this) {}
  void process(const c10::Warning& warning) override { messages.push_back(warning.msg()); }
  std::vector<std::string> messages;

 private:
  c10::WarningUtils::WarningHandlerGuard guard_;
};

std::string here(int line) { return std::string("reuse_test.cpp:") + std::to_string(line); }

class ReuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    set_reuse_policy(Reuse::warn);
    set_seed(42);  // forgets the blocks of earlier tests
  }
  void TearDown() override {
    set_reuse_policy(Reuse::warn);
    EXPECT_EQ(detail::block_depth(), 0u);
  }
};

// A block entered inside a helper: every call is the helper's one site.
void enter_in_helper(std::uint64_t s) { Block b(s); }

TEST_F(ReuseTest, SiteDefaultsToTheCaller) {
  const Site site;
  EXPECT_EQ(site.line, static_cast<std::uint32_t>(__LINE__ - 1));
  EXPECT_NE(std::string(site.file).find("reuse_test.cpp"), std::string::npos);
}

TEST_F(ReuseTest, TwoSitesWarnOncePerPairNamingBoth) {
  Warnings w;
  const int first = __LINE__ + 1;
  auto at_first_site = [] { Block b(900); };
  at_first_site();
  EXPECT_TRUE(w.messages.empty());
  const int second = __LINE__ + 1;
  for (int i = 0; i < 3; ++i) { Block b(900); }  // the second site, three times: one warning
  { Block b(900); }  // a third site: another pair
  { Block b(900); }  // and a fourth
  ASSERT_EQ(w.messages.size(), 3u);
  EXPECT_NE(w.messages[0].find("block 900"), std::string::npos) << w.messages[0];
  EXPECT_NE(w.messages[0].find(here(first)), std::string::npos) << w.messages[0];
  EXPECT_NE(w.messages[0].find(here(second)), std::string::npos) << w.messages[0];
  EXPECT_NE(w.messages[1].find(here(second + 1)), std::string::npos) << w.messages[1];
  EXPECT_NE(w.messages[1].find(here(first)), std::string::npos) << w.messages[1];
  at_first_site();  // the first site again: silent
  EXPECT_EQ(w.messages.size(), 3u);
}

TEST_F(ReuseTest, TheSameSiteNeverWarns) {
  Warnings w;
  for (int epoch = 0; epoch < 1000; ++epoch) {
    Block b(901);
    with_block(902, [] {});
  }
  enter_in_helper(903);  // one function called from two places is one site
  enter_in_helper(903);
  { Block b(904); }  // distinct seeds from distinct sites
  { Block b(905); }
  EXPECT_TRUE(w.messages.empty()) << w.messages.front();
}

TEST_F(ReuseTest, WithBlockRecordsItsCallSite) {
  Warnings w;
  const int first = __LINE__ + 1;
  with_block(906, [] {});
  const int second = __LINE__ + 1;
  with_block(906, OnExit::keep, Engine::philox, [] {});
  ASSERT_EQ(w.messages.size(), 1u);
  EXPECT_NE(w.messages[0].find(here(first)), std::string::npos) << w.messages[0];
  EXPECT_NE(w.messages[0].find(here(second)), std::string::npos) << w.messages[0];
}

TEST_F(ReuseTest, PathsAndRanksAreKnownByTheirKey) {
  set_rank(1, 4);
  Warnings w;
  { Block b(path("augment", 3, 17)); }
  { Block b(path("augment", 3, 18)); }         // another path: another key
  { Block b(path("augment", 3, 17), Ranks::distinct); }  // the rank changes the key
  EXPECT_TRUE(w.messages.empty()) << w.messages.front();
  { Block b(path("augment", 3, 17)); }          // the same path again, elsewhere
  { Block b(path("augment", 3, 17), Ranks::distinct); }  // the same rank again, elsewhere
  EXPECT_EQ(w.messages.size(), 2u);
}

TEST_F(ReuseTest, ErrorRefusesBeforeAnythingChanges) {
  auto at_first_site = [] { Block b(907); };
  at_first_site();
  torch::rand({3});
  set_reuse_policy(Reuse::error);
  const torch::Tensor before = cpu_state();
  const Stream stream_before = reserve(0);
  const int second = __LINE__ + 2;
  try {
    Block b(907);
    FAIL() << "entered a reused block under Reuse::error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(here(second)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("set_reuse_policy"), std::string::npos) << e.what();
  }
  EXPECT_EQ(detail::block_depth(), 0u);
  EXPECT_TRUE(same_bits(cpu_state(), before));
  EXPECT_EQ(reserve(0).base, stream_before.base);
  EXPECT_NO_THROW(at_first_site());  // the first site stays allowed
  { Block b(908); }                    // and new blocks too
}

TEST_F(ReuseTest, AllowSaysNothing) {
  set_reuse_policy(Reuse::allow);
  EXPECT_EQ(reuse_policy(), Reuse::allow);
  Warnings w;
  { Block b(909); }
  { Block b(909); }
  EXPECT_TRUE(w.messages.empty());
  EXPECT_THROW(set_reuse_policy(static_cast<Reuse>(7)), Error);
  EXPECT_EQ(reuse_policy(), Reuse::allow);
}

TEST_F(ReuseTest, SetSeedStartsANewRun) {
  Warnings w;
  { Block b(910); }
  set_seed(42);
  { Block b(910); }
  EXPECT_TRUE(w.messages.empty());
}

TEST_F(ReuseTest, WorkerBlocksAreNoReuse) {
  Warnings w;
  Block b(911);
  const BlockContext ctx = current_context();
  { WorkerBlock worker(ctx, 0); }
  { WorkerBlock worker(ctx, 1); }
  EXPECT_TRUE(w.messages.empty());
}

// The table is bounded: a reuse is found across a few thousand other keys, and forgotten once far
// more keys than the table holds (64 Ki) came in between (Note [Block reuse]).
TEST_F(ReuseTest, TheTableIsBounded) {
  Warnings w;
  auto other_keys = [](std::uint64_t first, std::uint64_t n) {
    for (std::uint64_t s = first; s < first + n; ++s) Block b(s);
  };
  { Block b(912); }
  other_keys(1u << 20, 2000);
  { Block b(912); }
  EXPECT_EQ(w.messages.size(), 1u);
  { Block b(913); }
  other_keys(1u << 21, 400000);
  { Block b(913); }
  EXPECT_EQ(w.messages.size(), 1u);
}

}  // namespace
}  // namespace rb
