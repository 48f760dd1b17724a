// Stands in for cuda/fill.cu when rb is built without CUDA kernels (RB_CUDA=OFF).
#include "../src/fill.hpp"
#include "rb/block.hpp"

namespace rb::detail {

bool cuda_kernels_built() { return false; }

void fill_cuda(const FillRequest&) {
  throw Error("rb was built without CUDA kernels (RB_CUDA=OFF): rebuild with nvcc to draw on CUDA "
              "tensors with rb's generator.");
}

}  // namespace rb::detail
