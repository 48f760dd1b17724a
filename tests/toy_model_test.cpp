// The demo's facts, asserted: with blocks an extra conv layer changes neither the fc layers'
// initial weights nor the first epoch's data order; without blocks it changes both.
#include <gtest/gtest.h>

#include "toy_model.hpp"

namespace {

TEST(ToyModel, BlocksIsolateTheFcLayersAndTheDataOrder) {
  at::set_num_threads(1);
  const auto two = toy::run(2, true), three = toy::run(3, true);
  EXPECT_TRUE(torch::equal(two.fc1_initial_weight, three.fc1_initial_weight));
  EXPECT_TRUE(torch::equal(two.first_epoch_order, three.first_epoch_order));
}

TEST(ToyModel, WithoutBlocksTheExtraLayerShiftsEverything) {
  at::set_num_threads(1);
  const auto two = toy::run(2, false), three = toy::run(3, false);
  EXPECT_FALSE(torch::equal(two.fc1_initial_weight, three.fc1_initial_weight));
  EXPECT_FALSE(torch::equal(two.first_epoch_order, three.first_epoch_order));
}

}  // namespace
