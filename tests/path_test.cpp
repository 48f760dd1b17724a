// rb::path and rb::rank_key (Note [Ranks and paths]): part types, bad parts, what differs. The
// bits themselves are pinned by tests/golden/path.txt (golden_path_*).
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "rb/path.hpp"

namespace rb {
namespace {

using namespace std::string_view_literals;

TEST(Path, EveryStringTypeIsTheSamePart) {
  const std::string s = "encoder";
  const char* c = "encoder";
  EXPECT_EQ(path("encoder"), path(s));
  EXPECT_EQ(path(s), path(c));
  EXPECT_EQ(path(c), path("encoder"sv));
  EXPECT_EQ(path("encoder", 3), path(std::string("encoder"), std::uint64_t{3}));
}

TEST(Path, EveryIntegerTypeIsTheSamePart) {
  const std::uint64_t expected = path(std::uint64_t{5});
  EXPECT_EQ(path(5), expected);
  EXPECT_EQ(path(short{5}), expected);
  EXPECT_EQ(path(5u), expected);
  EXPECT_EQ(path(std::int64_t{5}), expected);
  EXPECT_EQ(path(std::uint8_t{5}), expected);
}

TEST(Path, TypesLengthsAndOrderAllCount) {
  const std::vector<std::uint64_t> seeds = {
      path(1), path("1"), path(""), path(0), path(0, 0), path(0, 0, 0), path("ab"), path("ab\0"sv),
      path("a", "b"), path("ab", ""), path("augment", 1, 2), path("augment", 2, 1),
      path(1, "augment", 2), path("augment", 1), path(~std::uint64_t{0}),
      path(std::uint64_t{1} << 32), path("abcdefgh"), path("abcdefgh\0"sv),
      path("\xc3\xa9t\xc3\xa9")};
  EXPECT_EQ(std::set<std::uint64_t>(seeds.begin(), seeds.end()).size(), seeds.size());
}

TEST(Path, IsNotTheIntegerBlockSeed) {
  // A path is its own block seed: path(5) is not block seed 5 (which keeps its bits).
  EXPECT_NE(path(5), 5u);
  EXPECT_NE(path(0), 0u);
}

TEST(Path, PerSamplePathsDoNotCollide) {
  std::set<std::uint64_t> seen;
  for (std::uint64_t epoch = 0; epoch < 10; ++epoch) {
    for (std::uint64_t index = 0; index < 10000; ++index) {
      seen.insert(path("augment", epoch, index));
    }
  }
  EXPECT_EQ(seen.size(), 100000u);
}

TEST(Path, NegativeIntegerIsAnError) {
  try {
    path("augment", -1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("part 1 is -1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[0, 2^64)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(path(std::int64_t{-5}), Error);
  EXPECT_THROW(path(short{-1}), Error);
}

TEST(Path, NullStringIsAnError) {
  const char* null = nullptr;
  EXPECT_THROW(path("augment", null), Error);
}

TEST(RankKey, EachRankItsOwnKeyAndTheSameEveryTime) {
  const Key key = derive_key(42, path("dropout", 3));
  std::set<std::uint64_t> seen;
  for (std::uint32_t rank = 0; rank < 1000; ++rank) {
    const Key k = rank_key(key, rank);
    EXPECT_EQ(k, rank_key(key, rank));
    EXPECT_NE(k, key);
    seen.insert(key_value(k));
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_NE(rank_key(derive_key(42, 3), 0), rank_key(derive_key(42, 4), 0));
}

}  // namespace
}  // namespace rb
