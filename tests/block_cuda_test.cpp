// SPEC.md "Blocks" on the default generators of CUDA devices. Skipped, visibly, without a GPU.
#include <ATen/Context.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

#include <memory>

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

TEST_F(BlockCudaTest, EnteringOrLeavingDuringGraphCaptureIsRefusedAndChangesNothing) {
  const auto cpu_before = test::cpu_state();
  const auto cuda_before = cuda_states();
  auto open = std::make_unique<Block>(21);  // entered before the capture
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  {
    c10::cuda::CUDAStreamGuard guard(side);
    at::cuda::CUDAGraph graph;
    graph.capture_begin();
    EXPECT_THROW(Block b(22), rb::Error);
    EXPECT_THROW(rb::reserve(4), rb::Error);
    EXPECT_THROW(detail::exit_block(detail::enter_block(23, OnExit::keep, Engine::torch)), rb::Error);
    EXPECT_EQ(detail::block_depth(), 1u);
    graph.capture_end();
  }
  open.reset();  // leaving after the capture works
  EXPECT_EQ(detail::block_depth(), 0u);
  (void)cpu_before;
  (void)cuda_before;
}

TEST_F(BlockCudaTest, EnteringWhileAnotherDeviceCapturesIsRefusedAndChangesNothing) {
  if (torch::cuda::device_count() < 2) {
    GTEST_SKIP()
        << "fewer than 2 GPUs: a capture on a device that is not the current one was not tried";
  }
  const auto cpu_before = test::cpu_state();
  const auto cuda_before = cuda_states();
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, 1);
  {
    c10::cuda::CUDAStreamGuard on_side(side);  // device 1 captures on its current stream
    at::cuda::CUDAGraph graph;
    graph.capture_begin();
    {
      c10::cuda::CUDAGuard on_zero(0);  // while the current device is 0
      EXPECT_THROW(Block b(22), rb::Error);
      EXPECT_THROW(rb::set_seed(43), rb::Error);
      EXPECT_EQ(detail::block_depth(), 0u);
    }
    graph.capture_end();
  }
  // Nothing was installed on any device, nor on the CPU: all or nothing.
  EXPECT_TRUE(torch::equal(test::cpu_state(), cpu_before));
  EXPECT_EQ(cuda_states(), cuda_before);
}

}  // namespace
}  // namespace rb
