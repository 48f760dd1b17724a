// rb::set_rank and rb::Ranks::distinct (Note [Ranks and paths]): distinct blocks differ per rank
// and repeat, replicated blocks ignore the rank, and bad input changes nothing. set_rank is
// process-wide, so one process plays every rank in turn.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

using test::cpu_state;
using test::draws;
using test::same_bits;

// Everything a block hands out: torch's CPU draws and the philox engine's (the rb stream).
torch::Tensor block_draws(std::uint64_t seed, Ranks ranks) {
  torch::Tensor torch_engine, philox_engine;
  {
    Block b(seed, ranks);
    torch_engine = draws();
  }
  {
    Block b(seed, OnExit::keep, Engine::philox, ranks);
    philox_engine = torch::rand({64}, torch::kDouble);
  }
  return torch::cat({torch_engine, philox_engine});
}

class RanksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    rb::set_seed(42);
  }
  void TearDown() override { EXPECT_EQ(detail::block_depth(), 0u); }
};

// First in this file: it needs a process in which set_rank has not run yet.
TEST_F(RanksTest, DistinctBlockBeforeSetRankSaysWhatToDoAndChangesNothing) {
  if (known_rank()) GTEST_SKIP() << "set_rank already ran in this process (tests shuffled?)";
  const torch::Tensor before = cpu_state();
  try {
    Block b(7, Ranks::distinct);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rb::set_rank(rank, world_size)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(with_block(7, Ranks::distinct, [] {}), Error);
  EXPECT_TRUE(same_bits(before, cpu_state()));
  EXPECT_EQ(detail::block_depth(), 0u);
}

TEST_F(RanksTest, DistinctBlocksDifferPerRankAndRepeat) {
  std::vector<torch::Tensor> per_rank;
  for (std::int64_t rank = 0; rank < 4; ++rank) {
    set_rank(rank, 4);
    per_rank.push_back(block_draws(path("dropout", 3), Ranks::distinct));
    {
      Block b(path("dropout", 3), Ranks::distinct);
      EXPECT_EQ(b.key(), rank_key(derive_key(42, path("dropout", 3)),
                                  static_cast<std::uint32_t>(rank)));
      EXPECT_EQ(b.ranks(), Ranks::distinct);
    }
  }
  for (std::size_t i = 0; i < per_rank.size(); ++i) {
    for (std::size_t j = i + 1; j < per_rank.size(); ++j) {
      EXPECT_FALSE(torch::equal(per_rank[i], per_rank[j])) << "ranks " << i << ", " << j;
    }
  }
  for (std::int64_t rank = 3; rank >= 0; --rank) {  // again, in another order: the same draws
    set_rank(rank, 4);
    EXPECT_TRUE(same_bits(per_rank[rank], block_draws(path("dropout", 3), Ranks::distinct)));
  }
}

TEST_F(RanksTest, ReplicatedBlocksAreTheSameOnEveryRank) {
  set_rank(0, 2);
  const torch::Tensor on_rank_0 = block_draws(9, Ranks::replicated);
  set_rank(1, 2);
  EXPECT_TRUE(same_bits(on_rank_0, block_draws(9, Ranks::replicated)));
  Block b(9);  // the default
  EXPECT_EQ(b.ranks(), Ranks::replicated);
  EXPECT_EQ(b.key(), derive_key(42, 9));
}

TEST_F(RanksTest, TheWorldSizeDoesNotEnter) {
  set_rank(1, 2);
  const torch::Tensor in_two = block_draws(9, Ranks::distinct);
  set_rank(1, 8);
  EXPECT_TRUE(same_bits(in_two, block_draws(9, Ranks::distinct)));
}

TEST_F(RanksTest, WithBlockDrawsWhatAScopeDraws) {
  set_rank(2, 3);
  torch::Tensor scoped;
  {
    Block b(5, OnExit::keep, Engine::torch, Ranks::distinct);
    scoped = draws();
  }
  EXPECT_TRUE(same_bits(scoped, with_block(5, Ranks::distinct, [] { return draws(); })));
  EXPECT_TRUE(same_bits(scoped, with_block(5, OnExit::keep, Engine::torch, Ranks::distinct,
                                           [] { return draws(); })));
}

TEST_F(RanksTest, DistinctRestoreIsExact) {
  set_rank(1, 2);
  draws();
  const torch::Tensor before = cpu_state();
  {
    Block b(11, OnExit::restore, Engine::torch, Ranks::distinct);
    draws();
  }
  EXPECT_TRUE(same_bits(before, cpu_state()));
}

TEST_F(RanksTest, OpenBlocksTellTheirRanks) {
  set_rank(0, 2);
  Block a(1);
  Block b(2, Ranks::distinct);
  const std::vector<detail::OpenBlock> open = detail::open_blocks();
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].block_seed, 1u);
  EXPECT_EQ(open[0].ranks, Ranks::replicated);
  EXPECT_EQ(open[1].block_seed, 2u);
  EXPECT_EQ(open[1].ranks, Ranks::distinct);
}

TEST_F(RanksTest, BadRanksAreErrorsThatChangeNothing) {
  set_rank(1, 3);
  const std::int64_t bad[][2] = {{-1, 2}, {2, 2},  {3, 2},
                                 {0, 0},  {0, -1}, {0, std::int64_t{1} << 32}};
  for (const auto& b : bad) {
    EXPECT_THROW(set_rank(b[0], b[1]), Error) << b[0] << " of " << b[1];
    ASSERT_TRUE(known_rank());
    EXPECT_EQ(known_rank()->rank, 1u);
    EXPECT_EQ(known_rank()->world_size, 3u);
  }
  try {
    set_rank(-1, 2);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[0, world_size)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rb
