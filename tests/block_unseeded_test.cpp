// Misuse before rb::set_seed: a process of its own, since set_seed cannot be undone.
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

TEST(Unseeded, EverythingThatNeedsTheSeedSaysSoAndChangesNothing) {
  torch::manual_seed(3);
  const auto state = test::cpu_state();
  for (auto attempt : std::vector<std::function<void()>>{
           [] { rb::initial_seed(); },
           [] { Block b(64); },
           [] { with_block(1, [] { return 0; }); },
           [] { rb::reset_to_reference_state(); },
           [] { rb::reserve(4); }}) {
    try {
      attempt();
      ADD_FAILURE() << "expected rb::Error";
    } catch (const rb::Error& e) {
      EXPECT_NE(std::string(e.what()).find("rb::set_seed"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(detail::block_depth(), 0u);
  EXPECT_TRUE(torch::equal(test::cpu_state(), state));
  rb::set_seed(3);
  EXPECT_EQ(rb::initial_seed(), 3u);
}

}  // namespace
}  // namespace rb
