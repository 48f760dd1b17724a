// torch's RNG-state protocols act on philox-engine draws as on torch's own: manual_seed replays,
// get_state / set_state replay (with the engine of the state, also outside its block), and a saved
// state isolates what is drawn in between. Each for both engines. See Note [Philox engine streams].
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

using test::same_bits;

/// Draws of several generator-less ops, as one float64 tensor.
torch::Tensor mixed_draws() {
  return torch::cat({torch::rand({37}, torch::kDouble), torch::randn({40}).to(torch::kDouble),
                     torch::randint(0, 1000, {20}).to(torch::kDouble),
                     torch::dropout(torch::ones({64}), 0.5, true).to(torch::kDouble),
                     torch::randperm(50).to(torch::kDouble)});
}

at::Generator cpu() { return at::detail::getDefaultCPUGenerator(); }

class ProtocolTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override { rb::set_seed(404); }
  Engine other() const { return GetParam() == Engine::philox ? Engine::torch : Engine::philox; }
};

TEST_P(ProtocolTest, ManualSeedReplays) {
  Block b(20, OnExit::keep, GetParam());
  torch::manual_seed(0);
  const auto first = mixed_draws();
  torch::manual_seed(0);
  EXPECT_TRUE(same_bits(first, mixed_draws()));
  // The draws stay the block's engine's: the other engine gives other numbers after manual_seed(0).
  Block o(20, OnExit::keep, other());
  torch::manual_seed(0);
  EXPECT_FALSE(torch::equal(first, mixed_draws()));
}

TEST_P(ProtocolTest, GetStateAndSetStateReplay) {
  Block b(21, OnExit::keep, GetParam());
  torch::rand({5});
  const auto state = cpu().get_state();
  const auto first = mixed_draws();
  cpu().set_state(state);
  EXPECT_TRUE(same_bits(first, mixed_draws()));
}

TEST_P(ProtocolTest, ASavedStateIsolatesWhatIsDrawnInBetween) {
  // What torch.random.fork_rng does: save, draw, restore; the draws after it are as if nothing ran.
  Block b(22, OnExit::keep, GetParam());
  const auto state = cpu().get_state();
  const auto expected = mixed_draws();
  cpu().set_state(state);
  mixed_draws();  // inside the "fork"
  cpu().set_state(state);
  EXPECT_TRUE(same_bits(expected, mixed_draws()));
}

TEST_P(ProtocolTest, AStateReplaysWithItsOwnEngineInAnyBlock) {
  // Activation checkpointing restores the forward's state for the recompute, which may run after
  // the block has closed (backward outside it) or inside a block of the other engine.
  torch::Tensor state, first;
  {
    Block b(23, OnExit::keep, GetParam());
    state = cpu().get_state();
    first = mixed_draws();
  }
  cpu().set_state(state);  // outside every block
  EXPECT_TRUE(same_bits(first, mixed_draws()));
  Block o(24, OnExit::keep, other());
  cpu().set_state(state);  // inside a block of the other engine
  EXPECT_TRUE(same_bits(first, mixed_draws()));
}

TEST_P(ProtocolTest, AnUnmarkedStateFollowsTheThreadsEngine) {
  // torch.manual_seed leaves no engine mark: inside a block, its draws are the block engine's.
  torch::manual_seed(7);
  const auto outside = mixed_draws();  // torch engine outside blocks
  Block b(25, OnExit::keep, GetParam());
  torch::manual_seed(7);
  const auto inside = mixed_draws();
  EXPECT_EQ(torch::equal(outside, inside), GetParam() == Engine::torch);
}

INSTANTIATE_TEST_SUITE_P(BothEngines, ProtocolTest, ::testing::Values(Engine::torch, Engine::philox),
                         [](const auto& info) { return info.param == Engine::philox ? "philox" : "torch"; });

}  // namespace
}  // namespace rb
