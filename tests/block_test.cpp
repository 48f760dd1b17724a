// SPEC.md "Blocks", behaviours 1-7, on torch's default CPU generator (and CUDA where present).
#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

using test::cpu_state;
using test::cuda_states;
using test::draws;
using test::has_cuda;
using test::same_bits;

class BlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    rb::set_seed(42);
  }
  void TearDown() override { EXPECT_EQ(detail::block_depth(), 0u); }
};

TEST_F(BlockTest, SameBlockSeedSameDraws) {
  torch::Tensor first, second;
  {
    Block b(64);
    first = draws();
  }
  draws();  // whatever runs between the blocks does not matter
  torch::rand({1000});
  {
    Block b(64);
    second = draws();
  }
  EXPECT_TRUE(same_bits(first, second));
}

TEST_F(BlockTest, DifferentBlockSeedsDifferentDraws) {
  const std::uint64_t seeds[] = {0, 1, 2, 1ull << 32, (1ull << 32) + 1, 1ull << 63, ~0ull, ~0ull - 1};
  std::vector<torch::Tensor> seen;
  for (std::uint64_t s : seeds) {
    Block b(s);
    seen.push_back(torch::rand({64}));
  }
  for (std::size_t i = 0; i < seen.size(); ++i)
    for (std::size_t j = i + 1; j < seen.size(); ++j)
      EXPECT_FALSE(torch::equal(seen[i], seen[j])) << "block seeds " << seeds[i] << ", " << seeds[j];
}

TEST_F(BlockTest, InitialSeedsThatDifferOnlyAboveBit32Differ) {
  // torch::manual_seed keeps 32 bits of a seed, so these two give the same stream ...
  torch::manual_seed(5);
  const auto a = torch::rand({16});
  torch::manual_seed(5 + (1ull << 32));
  EXPECT_TRUE(torch::equal(a, torch::rand({16})));
  // ... while rb fills the full state from a 64-bit key.
  rb::set_seed(5);
  const auto b = torch::rand({16});
  rb::set_seed(5 + (1ull << 32));
  EXPECT_FALSE(torch::equal(b, torch::rand({16})));
  EXPECT_EQ(rb::initial_seed(), 5 + (1ull << 32));
}

TEST_F(BlockTest, InstallsTheFullMersenneTwisterState) {
  Block b(77);
  auto engine = at::check_generator<at::CPUGeneratorImpl>(at::detail::getDefaultCPUGenerator())
                    ->engine()
                    .data();
  EXPECT_EQ(engine.state_, detail::mt_state(derive_key(42, 77), Domain::torch_cpu));
  EXPECT_EQ(engine.left_, 1);
  EXPECT_EQ(engine.next_, 0u);
  EXPECT_TRUE(engine.seeded_);
}

TEST_F(BlockTest, WithBlockDrawsWhatAScopeDraws) {
  torch::Tensor scoped;
  {
    Block b(128);
    scoped = draws();
  }
  const torch::Tensor decorated = with_block(128, [] { return draws(); });
  EXPECT_TRUE(same_bits(scoped, decorated));
  // Arguments and references pass through.
  int calls = 0;
  int& ref = with_block(3, [&]() -> int& { ++calls; return calls; });
  EXPECT_EQ(&ref, &calls);
  EXPECT_EQ(calls, 1);
}

TEST_F(BlockTest, BlockZeroIsTheReferenceState) {
  rb::set_seed(7);
  const auto reference = draws();
  draws();
  {
    Block b(0);
    EXPECT_TRUE(same_bits(draws(), reference));
  }
  rb::reset_to_reference_state();
  EXPECT_TRUE(same_bits(draws(), reference));
}

TEST_F(BlockTest, KeepContinuesFromWhereTheBlockLeftOff) {
  torch::Tensor inside_state;
  {
    Block b(9);  // OnExit::keep is the default
    torch::rand({10});
    inside_state = cpu_state();
  }
  EXPECT_TRUE(torch::equal(cpu_state(), inside_state));
  // And the next draws are the block's continuation.
  torch::Tensor continuation, after;
  {
    Block b(9);
    torch::rand({10});
    continuation = torch::rand({10});
  }
  {
    Block b(9);
    torch::rand({10});
  }
  after = torch::rand({10});
  EXPECT_TRUE(same_bits(continuation, after));
}

TEST_F(BlockTest, RestoreIsExactToTheBit) {
  torch::rand({5});
  torch::randn({1});  // leaves a cached Box-Muller sample in the CPU generator
  const auto entry_cpu = cpu_state();
  const auto entry_cuda = cuda_states();
  {
    Block b(11, OnExit::restore);
    draws();
    torch::randn({3});
    EXPECT_FALSE(torch::equal(cpu_state(), entry_cpu));
  }
  EXPECT_TRUE(torch::equal(cpu_state(), entry_cpu));
  EXPECT_EQ(cuda_states(), entry_cuda);
}

TEST_F(BlockTest, RestoreHoldsWhenTheBlockExitsThroughAnException) {
  torch::rand({3});
  const auto entry = cpu_state();
  EXPECT_THROW(
      {
        Block b(12, OnExit::restore);
        torch::rand({100});
        throw std::runtime_error("training diverged");
      },
      std::runtime_error);
  EXPECT_TRUE(torch::equal(cpu_state(), entry));
  EXPECT_EQ(detail::block_depth(), 0u);
}

TEST_F(BlockTest, NestedBlocksEachRestoreTheirOwnEntryState) {
  const auto s0 = cpu_state();
  {
    Block a(1, OnExit::restore);
    torch::rand({7});
    const auto s1 = cpu_state();
    {
      Block b(2, OnExit::restore);
      torch::rand({7});
      const auto s2 = cpu_state();
      {
        Block c(3, OnExit::restore);
        EXPECT_EQ(detail::block_depth(), 3u);
        torch::rand({7});
      }
      EXPECT_TRUE(torch::equal(cpu_state(), s2));
    }
    EXPECT_TRUE(torch::equal(cpu_state(), s1));
  }
  EXPECT_TRUE(torch::equal(cpu_state(), s0));
}

TEST_F(BlockTest, NestedBlocksDrawTheSameWhateverSurroundsThem) {
  torch::Tensor inner_alone, inner_nested;
  {
    Block c(3);
    inner_alone = draws();
  }
  {
    Block a(1);
    torch::rand({100});
    {
      Block c(3);
      inner_nested = draws();
    }
  }
  EXPECT_TRUE(same_bits(inner_alone, inner_nested));
}

TEST_F(BlockTest, SetSeedInsideABlockIsRefusedAndChangesNothing) {
  Block b(5);
  const auto before = cpu_state();
  EXPECT_THROW(rb::set_seed(1), rb::Error);
  EXPECT_TRUE(torch::equal(cpu_state(), before));
  EXPECT_EQ(rb::initial_seed(), 42u);
}

TEST_F(BlockTest, LeavingOutOfOrderIsRefusedAndChangesNothing) {
  const std::uint64_t outer = detail::enter_block(1, OnExit::restore, Engine::torch);
  const std::uint64_t inner = detail::enter_block(2, OnExit::restore, Engine::torch);
  const auto state = cpu_state();
  try {
    detail::exit_block(outer);
    FAIL() << "expected rb::Error";
  } catch (const rb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("reverse order"), std::string::npos) << e.what();
  }
  EXPECT_EQ(detail::block_depth(), 2u);
  EXPECT_TRUE(torch::equal(cpu_state(), state));
  detail::exit_block(inner);
  detail::exit_block(outer);
  EXPECT_THROW(detail::exit_block(outer), rb::Error);  // not open any more
}

TEST_F(BlockTest, ABlockDestroyedOnAnotherThreadLeavesThatThreadsBlocksAlone) {
  std::unique_ptr<Block> foreign;
  std::thread([&] { foreign = std::make_unique<Block>(5); }).join();  // its thread is gone
  Block own(6, OnExit::restore);
  foreign.reset();  // warns; must not close `own`, whose frame id a per-thread counter would share
  EXPECT_EQ(detail::block_depth(), 1u);
}

/// Whether a generator-less draw on this thread is torch's own: the same numbers as a torch
/// generator with the default CPU generator's state (a philox-engine draw differs).
bool draws_with_torch() {
  at::Generator same = at::make_generator<at::CPUGeneratorImpl>();
  same.set_state(at::detail::getDefaultCPUGenerator().get_state());
  const torch::Tensor expected = torch::rand({8}, same);
  return torch::equal(torch::rand({8}), expected);
}

/// Runs `open` on a new thread, then `destroy` on this thread while that thread waits, then
/// `check` on that thread; returns what `check` returned.
template <class Open, class Destroy, class Check>
bool across_threads(Open open, Destroy destroy, Check check) {
  std::promise<void> opened, destroyed;
  std::promise<bool> checked;
  std::thread owner([&] {
    open();
    opened.set_value();
    destroyed.get_future().wait();
    checked.set_value(check());
  });
  opened.get_future().wait();
  destroy();
  destroyed.set_value();
  const bool result = checked.get_future().get();
  owner.join();
  return result;
}

TEST_F(BlockTest, ABlockDestroyedOnAnotherThreadIsClosedOnItsOwnThread) {
  std::unique_ptr<Block> own, foreign;
  test::CapturedWarnings warnings;
  bool only_own_open = false, torch_engine = false, own_leaves = false, seed_works = false;
  across_threads(
      [&] {
        own = std::make_unique<Block>(5, OnExit::keep, Engine::torch);
        foreign = std::make_unique<Block>(6, OnExit::restore, Engine::philox);
      },
      [&] { foreign.reset(); },  // the wrong thread: a warning here, the block closed there
      [&] {
        only_own_open = detail::block_depth() == 1;
        torch_engine = draws_with_torch();
        own.reset();  // block 6 is no longer above it: leaving works
        own_leaves = detail::block_depth() == 0;
        try {
          rb::set_seed(42);
          seed_works = true;
        } catch (const rb::Error&) {
        }
        return true;
      });
  EXPECT_TRUE(only_own_open);
  EXPECT_TRUE(torch_engine);
  EXPECT_TRUE(own_leaves);
  EXPECT_TRUE(seed_works);
  EXPECT_TRUE(warnings.saw("not open on this thread"));
}

TEST_F(BlockTest, AWorkerBlockLeftOutOfOrderOrOnAnotherThreadWarnsAndCloses) {
  const BlockContext ctx = current_context();
  {
    test::CapturedWarnings warnings;
    auto outer = std::make_unique<WorkerBlock>(ctx, 0);
    WorkerBlock inner(ctx, 1);
    outer.reset();  // out of order
    EXPECT_TRUE(warnings.saw("reverse order")) << warnings.messages.size();
    EXPECT_EQ(detail::block_depth(), 1u);
  }
  EXPECT_EQ(detail::block_depth(), 0u);
  std::unique_ptr<WorkerBlock> worker;
  test::CapturedWarnings warnings;
  EXPECT_TRUE(across_threads([&] { worker = std::make_unique<WorkerBlock>(ctx, 2); },
                             [&] { worker.reset(); },
                             [&] { return detail::block_depth() == 0; }));
  EXPECT_TRUE(warnings.saw("not open on this thread"));
}

TEST_F(BlockTest, ManyThreadsEnteringAndLeavingNeverCorruptAGenerator) {
  constexpr int kThreads = 8, kRounds = 1000;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      try {
        for (int i = 0; i < kRounds; ++i) {
          Block b(static_cast<std::uint64_t>(t * kRounds + i),
                  i % 2 ? OnExit::restore : OnExit::keep);
          if (i % 100 == 0) torch::rand({4});
          if (detail::block_depth() != 1) ++failures;
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // Every generator is still valid: its state round-trips and it draws.
  auto gen = at::detail::getDefaultCPUGenerator();
  auto engine = at::check_generator<at::CPUGeneratorImpl>(gen)->engine();
  EXPECT_TRUE(engine.is_valid());
  const auto state = cpu_state();
  gen.set_state(state);
  const auto a = torch::rand({8});
  gen.set_state(state);
  EXPECT_TRUE(torch::equal(a, torch::rand({8})));
}

}  // namespace
}  // namespace rb
