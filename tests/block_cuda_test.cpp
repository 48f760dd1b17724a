// SPEC.md "Blocks" on the default generators of CUDA devices. Skipped, visibly, without a GPU.
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

using test::cuda_states;
using test::has_cuda;

class BlockCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!has_cuda()) GTEST_SKIP() << "no CUDA device here: CUDA generators were not checked";
    rb::set_seed(42);
  }
};

TEST_F(BlockCudaTest, GeneratorsFollowTheBlock) {
  const auto opts = torch::TensorOptions().device(torch::kCUDA);
  torch::Tensor first, second;
  {
    Block b(64);
    first = torch::rand({1000}, opts);
  }
  torch::rand({1000}, opts);
  {
    Block b(64);
    second = torch::rand({1000}, opts);
  }
  EXPECT_TRUE(torch::equal(first, second));
  {
    Block b(65);
    EXPECT_FALSE(torch::equal(first, torch::rand({1000}, opts)));
  }
  // Restore puts back seed and offset of every device.
  torch::rand({10}, opts);
  const auto entry = cuda_states();
  {
    Block b(66, OnExit::restore);
    torch::rand({1000}, opts);
  }
  EXPECT_EQ(cuda_states(), entry);
}

}  // namespace
}  // namespace rb
