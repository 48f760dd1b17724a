// Engine::philox on CUDA: a model's initialisation, dropout masks and data order drawn inside
// philox blocks are bit-identical on the CPU and on the GPU. Skipped, visibly, without a GPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

/// Weights of a small model initialised inside a philox block, a dropout mask and a permutation
/// drawn inside another, all on `device`, as one CPU float64 tensor.
torch::Tensor philox_run(torch::Device device) {
  rb::set_seed(2026);
  torch::nn::Sequential net(nullptr);
  with_block(1, OnExit::keep, Engine::philox, [&] {
    net = torch::nn::Sequential(torch::nn::Linear(32, 64), torch::nn::Linear(64, 8));
    net->to(device);  // initialised on the CPU by torch::nn, then moved: init runs before .to
  });
  torch::Tensor on_device_init, mask, order;
  with_block(2, OnExit::keep, Engine::philox, [&] {
    auto w = torch::empty({64, 32}, torch::TensorOptions().device(device));
    torch::nn::init::kaiming_uniform_(w);  // drawn on the device itself
    on_device_init = w;
    mask = torch::dropout(torch::ones({1000}, torch::TensorOptions().device(device)), 0.25, true);
    order = torch::randperm(5000, torch::TensorOptions().device(device).dtype(torch::kLong));
  });
  std::vector<torch::Tensor> parts;
  for (const auto& p : net->parameters()) parts.push_back(p.detach().flatten().cpu().to(torch::kDouble));
  parts.push_back(on_device_init.flatten().cpu().to(torch::kDouble));
  parts.push_back(mask.cpu().to(torch::kDouble));
  parts.push_back(order.cpu().to(torch::kDouble));
  return torch::cat(parts);
}

TEST(EngineCuda, ModelInitDropoutAndOrderAreBitIdenticalOnCpuAndGpu) {
  if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device here: the CPU == CUDA philox-engine check did not run";
  const auto cpu = philox_run(torch::kCPU);
  const auto cuda = philox_run(torch::kCUDA);
  EXPECT_TRUE(test::same_bits(cpu, cuda));
}

TEST(EngineCuda, DropoutIsBitIdenticalOnCpuAndGpuInEveryDtype) {
  if (!test::has_cuda())
    GTEST_SKIP() << "no CUDA device here: the CPU == CUDA dropout check did not run";
  rb::set_seed(2027);
  // On CUDA dropout reaches rb's native_dropout; on the CPU it decomposes into bernoulli_.
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16}) {
    const auto x = torch::randn({1001}).to(dtype);
    torch::Tensor cpu, cuda, cpu_after, cuda_after;
    {
      Block b(3, OnExit::keep, Engine::philox);
      cpu = torch::dropout(x, 0.3, true);
      cpu_after = torch::rand({8});
    }
    {
      Block b(3, OnExit::keep, Engine::philox);
      cuda = torch::dropout(x.cuda(), 0.3, true).cpu();
      cuda_after = torch::rand({8});
    }
    EXPECT_TRUE(test::same_bits(cpu, cuda)) << dtype;
    EXPECT_TRUE(test::same_bits(cpu_after, cuda_after))
        << dtype << ": the stream advanced differently";
  }
}

}  // namespace
}  // namespace rb
