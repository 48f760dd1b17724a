// Routing of generator-less random ops to rb's stream (Engine::philox), per thread.
// See Note [Philox engine routing] in src/engine.cpp. Private to rb::torch.
#pragma once

#include "rb/block.hpp"

namespace rb::detail {

/// Routes the calling thread's generator-less random ops per `engine`: to rb's kernels for
/// Engine::philox, to torch's own for Engine::torch. Called whenever the thread's innermost block
/// or default engine changes.
void apply_routing(Engine engine) noexcept;

}  // namespace rb::detail
