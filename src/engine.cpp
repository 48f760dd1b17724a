// Engine::philox: routing generator-less random ops of one thread to rb's stream.
#include "engine.hpp"

#include <c10/core/DispatchKey.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

namespace rb::detail {

// Note [Philox engine routing]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// torch offers no way to replace its default CPU or CUDA generator object: its kernels
// static_cast it to CPUGeneratorImpl / CUDAGeneratorImpl. The dispatcher, though, lets a thread
// add a dispatch key to every op it calls (the thread-local "included" set). Inside a philox-engine
// block rb includes DispatchKey::CustomRNGKeyId: random ops rb covers reach rb's kernels at that
// key, which draw from the block's rb stream; every other op falls through to torch's kernels
// (see src/ops/fallthroughs.cpp). The set is thread-local; torch copies it into the tasks of
// at::launch and autograd's device threads, but not the block stack, so rb's kernels draw only
// when the calling thread's own innermost block (or default engine) is philox, and run torch's
// kernel otherwise (use_rb in src/ops/common.cpp). at::parallel_for's workers never see a random
// op: rb's kernels claim their stream positions before any work is split.

void apply_routing(Engine engine) noexcept {
  c10::impl::tls_set_dispatch_key_included(c10::DispatchKey::CustomRNGKeyId,
                                           engine == Engine::philox);
}

}  // namespace rb::detail
