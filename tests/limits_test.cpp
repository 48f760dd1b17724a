// rb refuses, with rb::Error and changing nothing, what would wrap a stream (hand out a counter
// twice) or read a generator state whose storage was freed.
#include <cstdint>
#include <limits>
#include <string>

#include <ATen/native/Resize.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"

namespace rb {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override { rb::set_seed(8); }
  void TearDown() override { EXPECT_EQ(detail::block_depth(), 0u); }
};

/// Expects `f` to throw rb::Error whose message contains `says`.
template <class F>
void expect_refused(F f, const std::string& says) {
  try {
    f();
    ADD_FAILURE() << "not refused";
  } catch (const rb::Error& e) {
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST_F(LimitsTest, ReservationsNeverWrapTheStream) {
  Block b(1);
  const Stream first = reserve(kMax);  // every counter but the last
  EXPECT_EQ(first.base, 0u);
  expect_refused([] { reserve(1); }, "2^64");
  expect_refused([] { reserve(5); }, "2^64");
  EXPECT_EQ(reserve(0).base, kMax);  // the refusals moved nothing
}

TEST_F(LimitsTest, ReservationsOutsideBlocksNeverWrapEither) {
  reserve(kMax - 10);
  EXPECT_EQ(reserve(10).base, kMax - 10);
  expect_refused([] { reserve(1); }, "2^64");
  reset_to_reference_state();  // block 0's stream starts again
  EXPECT_EQ(reserve(1).base, 0u);
}

TEST_F(LimitsTest, AGeneratorNeverDrawsPastTheEndOfItsStream) {
  auto g = make_generator(2);
  g.set_offset(kMax - 1);
  torch::rand({4}, g);  // the one output left
  EXPECT_EQ(g.get_offset(), kMax);
  expect_refused([&] { torch::rand({4}, g); }, "2^64");
  expect_refused([&] { torch::randn({4}, g); }, "2^64");
  EXPECT_EQ(g.get_offset(), kMax);
  g.set_offset(kMax);
  expect_refused([&] { torch::rand({1}, g); }, "2^64");
  g.set_offset(0);  // and set_offset takes it back to the start
  EXPECT_NO_THROW(torch::rand({4}, g));
}

TEST_F(LimitsTest, SetStateRefusesAStateWhoseStorageWasFreed) {
  auto g = make_generator(3);
  torch::rand({10}, g);
  const auto offset = g.get_offset();
  auto freed = g.get_state();
  // What FSDP does to a parameter's storage: the tensor keeps its 40 elements, the bytes are gone.
  at::native::resize_bytes_cpu(freed.storage().unsafeGetStorageImpl(), 0);
  expect_refused([&] { g.set_state(freed); }, "storage");
  EXPECT_EQ(g.get_offset(), offset);
  // A view into a storage too short for it is refused the same way.
  auto shrunk = g.get_state();
  at::native::resize_bytes_cpu(shrunk.storage().unsafeGetStorageImpl(), 20);
  expect_refused([&] { g.set_state(shrunk); }, "storage");
  EXPECT_EQ(g.get_offset(), offset);
}

}  // namespace
}  // namespace rb
