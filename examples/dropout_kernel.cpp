// The host half of examples/dropout_kernel.cu: reserves the kernel's stream from the current block
// with rb::reserve, launches it, and checks that its mask is the one rb's generator draws for
// bernoulli_, so also the same on the CPU (when a GPU is present).
#include <cstdio>

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <torch/torch.h>

#include "rb/generator.hpp"
#include "rb/rb.hpp"

cudaError_t launch_dropout(const rb::Stream& stream, const float* in, float* out, bool* mask,
                           std::int64_t n, double keep, float scale, cudaStream_t cuda_stream);

/// Dropout with probability p of a contiguous float CUDA tensor, drawing from the current block.
std::pair<torch::Tensor, torch::Tensor> dropout(const torch::Tensor& x, double p) {
  const std::int64_t n = x.numel();
  // One Philox output per 4 elements; the next reservation starts after these.
  const rb::Stream stream = rb::reserve(static_cast<std::uint64_t>((n + 3) / 4));
  auto out = torch::empty_like(x);
  auto mask = torch::empty(x.sizes(), x.options().dtype(torch::kBool));
  C10_CUDA_CHECK(launch_dropout(stream, x.data_ptr<float>(), out.data_ptr<float>(),
                                mask.data_ptr<bool>(), n, 1.0 - p,
                                static_cast<float>(1.0 / (1.0 - p)),
                                at::cuda::getCurrentCUDAStream()));
  return {out, mask};
}

int main() {
  rb::set_seed(42);
  if (!torch::cuda::is_available()) {
    std::printf("no CUDA device here: the kernel was built but not run.\n");
    return 0;
  }
  const auto x = torch::ones({1000003}, torch::TensorOptions().device(torch::kCUDA));
  torch::Tensor mask;
  {
    rb::Block block(7);
    mask = dropout(x, 0.3).second.cpu();
  }
  // rb's generator of block 7, from its start, draws the same mask on the CPU.
  const auto expected = torch::empty({x.numel()}, torch::kBool).bernoulli_(0.7, rb::make_generator(7));
  const bool same = torch::equal(mask, expected);
  std::printf("kept %.4f of the elements; the kernel's mask equals rb's CPU bernoulli_: %s\n",
              mask.to(torch::kFloat).mean().item<float>(), same ? "yes" : "NO");
  return same ? 0 : 1;
}
