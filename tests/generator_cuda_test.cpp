// rb's generator on CUDA: every op and dtype gives the CPU's bits. Skipped, visibly, without a GPU.
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/generator.hpp"
#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

class GeneratorCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device here: CPU == CUDA bit identity was not checked";
    rb::set_seed(2024);
  }
};

/// Runs `draw(generator, options)` on the CPU and on CUDA from the same block and compares bits.
template <class Draw>
void expect_identical(const char* what, Draw draw) {
  const auto cpu = draw(make_generator(5), torch::TensorOptions().device(torch::kCPU));
  const auto cuda = draw(make_generator(5, torch::kCUDA), torch::TensorOptions().device(torch::kCUDA)).cpu();
  ASSERT_EQ(cpu.sizes(), cuda.sizes()) << what;
  ASSERT_EQ(cpu.dtype(), cuda.dtype()) << what;
  const bool same = torch::equal(cpu.contiguous().view(torch::kByte), cuda.contiguous().view(torch::kByte));
  if (!same && cpu.is_floating_point()) {
    const auto diff = (cpu.to(torch::kDouble) - cuda.to(torch::kDouble)).abs();
    ADD_FAILURE() << what << ": CPU and CUDA differ; max abs difference " << diff.max().template item<double>()
                  << " at " << diff.argmax().template item<std::int64_t>();
  } else {
    EXPECT_TRUE(same) << what << ": CPU and CUDA differ";
  }
}

TEST_F(GeneratorCudaTest, EveryOpAndDtypeIsBitIdenticalToTheCpu) {
  const std::int64_t n = (1 << 20) + 3;  // odd, and larger than one CUDA grid pass
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16}) {
    const std::string t = std::string(c10::toString(dtype)) + " ";
    auto opts = [dtype](torch::TensorOptions o) { return o.dtype(dtype); };
    expect_identical((t + "uniform_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, opts(o)).uniform_(-2, 3, g); });
    expect_identical((t + "normal_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, opts(o)).normal_(1, 2, g); });
    expect_identical((t + "log_normal_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, opts(o)).log_normal_(0, 0.5, g); });
    expect_identical((t + "exponential_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, opts(o)).exponential_(1.5, g); });
    expect_identical((t + "cauchy_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, opts(o)).cauchy_(0, 1, g); });
    expect_identical((t + "geometric_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, opts(o)).geometric_(0.3, g); });
    expect_identical((t + "bernoulli_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, opts(o)).bernoulli_(0.3, g); });
    expect_identical((t + "random_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, opts(o)).random_(g); });
  }
  for (auto dtype : {torch::kByte, torch::kChar, torch::kShort, torch::kInt, torch::kLong, torch::kBool}) {
    const std::string t = std::string(c10::toString(dtype)) + " ";
    expect_identical((t + "random_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, o.dtype(dtype)).random_(g); });
    expect_identical((t + "bernoulli_").c_str(), [&](at::Generator g, torch::TensorOptions o) { return torch::empty({n}, o.dtype(dtype)).bernoulli_(0.7, g); });
  }
  expect_identical("randint 2^40", [&](at::Generator g, torch::TensorOptions o) { return torch::randint(0, 1ll << 40, {n}, g, o.dtype(torch::kLong)); });
  expect_identical("randperm", [&](at::Generator g, torch::TensorOptions o) { return torch::randperm(100003, g, o.dtype(torch::kLong)); });
  expect_identical("bernoulli(p)", [&](at::Generator g, torch::TensorOptions o) { return torch::bernoulli(torch::rand({n}, g, o), g); });
  expect_identical("multinomial without replacement", [&](at::Generator g, torch::TensorOptions o) { return torch::multinomial(torch::rand({4, 1000}, g, o), 100, false, g); });
  expect_identical("multinomial with replacement", [&](at::Generator g, torch::TensorOptions o) { return torch::multinomial(torch::rand({4, 1000}, g, o), 500, true, g); });
  expect_identical("normal(mean, std)", [&](at::Generator g, torch::TensorOptions o) { return at::normal(torch::rand({n}, g, o), torch::rand({n}, g, o), g); });
  expect_identical("non-contiguous", [&](at::Generator g, torch::TensorOptions o) { return torch::empty({513, 257}, o).t().uniform_(0, 1, g).contiguous(); });
}

TEST_F(GeneratorCudaTest, WrongDeviceIsRefused) {
  EXPECT_THROW(torch::rand({3}, make_generator(1), torch::TensorOptions().device(torch::kCUDA)), rb::Error);
  EXPECT_THROW(torch::rand({3}, make_generator(1, torch::kCUDA)), rb::Error);
}

TEST_F(GeneratorCudaTest, DrawingWhileTheTensorsDeviceCapturesIsRefused) {
  auto g = make_generator(1, torch::kCUDA);
  auto out = torch::empty({1000}, torch::TensorOptions().device(torch::kCUDA));
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  {
    c10::cuda::CUDAStreamGuard guard(side);
    at::cuda::CUDAGraph graph;
    graph.capture_begin();
    EXPECT_THROW(out.uniform_(0, 1, g), rb::Error);
    graph.capture_end();
  }
  EXPECT_EQ(g.get_offset(), 0u);
}

TEST_F(GeneratorCudaTest, ACaptureOnTheTensorsDeviceIsSeenWhateverTheCurrentDevice) {
  if (torch::cuda::device_count() < 2) {
    GTEST_SKIP()
        << "fewer than 2 GPUs: a capture on a device that is not the current one was not tried";
  }
  const torch::Device one(torch::kCUDA, 1);
  auto g = make_generator(1, one);
  auto out = torch::empty({1000}, torch::TensorOptions().device(one));
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, 1);
  {
    c10::cuda::CUDAStreamGuard on_side(side);  // device 1 captures on its current stream
    at::cuda::CUDAGraph graph;
    graph.capture_begin();
    {
      c10::cuda::CUDAGuard on_zero(0);  // while the current device is 0
      EXPECT_THROW(out.uniform_(0, 1, g), rb::Error);
    }
    graph.capture_end();
  }
  EXPECT_EQ(g.get_offset(), 0u);
}

}  // namespace
}  // namespace rb
