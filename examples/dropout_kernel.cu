// A custom CUDA kernel that draws from the current block: a dropout mask made with rb::reserve,
// rb::Stream and rb::bernoulli. Its mask is the one rb's generator draws for bernoulli_, so it is
// also the same on the CPU (checked below when a GPU is present).
#include <cstdio>

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <torch/torch.h>

#include "rb/generator.hpp"
#include "rb/rb.hpp"
#include "rb/sampling.hpp"

// Element i takes word i % 4 of Philox output i / 4: rb's mapping of 32-bit elements (Note
// [Element mapping]), so this kernel draws what rb's generator would.
__global__ void dropout_kernel(rb::Stream stream, const float* in, float* out, bool* mask, std::int64_t n,
                               double keep, float scale) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const std::uint32_t word = stream.draw(static_cast<std::uint64_t>(i / 4)).v[i % 4];
  const bool kept = rb::bernoulli(word, keep);
  mask[i] = kept;
  out[i] = kept ? in[i] * scale : 0.0f;
}

/// Dropout with probability p of a contiguous float CUDA tensor, drawing from the current block.
std::pair<torch::Tensor, torch::Tensor> dropout(const torch::Tensor& x, double p) {
  const std::int64_t n = x.numel();
  // One Philox output per 4 elements; the next reservation starts after these.
  const rb::Stream stream = rb::reserve(static_cast<std::uint64_t>((n + 3) / 4));
  auto out = torch::empty_like(x);
  auto mask = torch::empty(x.sizes(), x.options().dtype(torch::kBool));
  const int threads = 256;
  dropout_kernel<<<static_cast<unsigned>((n + threads - 1) / threads), threads, 0,
                   at::cuda::getCurrentCUDAStream()>>>(stream, x.data_ptr<float>(), out.data_ptr<float>(),
                                                       mask.data_ptr<bool>(), n, 1.0 - p,
                                                       static_cast<float>(1.0 / (1.0 - p)));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
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
