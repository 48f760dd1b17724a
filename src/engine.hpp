// Engine::philox inside torch's generator state: routing, the engine mark and per-op streams.
// See Note [Philox engine streams] in src/engine.cpp. Private to rb::torch.
#pragma once

#include <cstdint>
#include <optional>

#include "rb/block.hpp"

namespace rb::detail {

/// Includes DispatchKey::CustomRNGKeyId in the calling thread's dispatch keys, for good: rb's
/// kernels then see the thread's generator-less random ops and pick the engine per op (see
/// Note [Philox engine streams]). Called by everything that seeds rb or enters a block.
void enable_routing() noexcept;

/// The value rb gives the `seed` field of torch's CPU generator state (what torch.initial_seed()
/// reports) to mark it as drawn under `engine`: `low` (the low word of the block's key when rb
/// installs a block) and a mark of the engine. See Note [Engine mark].
std::uint64_t engine_mark(std::uint32_t low, Engine engine);
/// The engine `seed` marks, if it is one of engine_mark's values.
std::optional<Engine> marked_engine(std::uint64_t seed);

/// The engine a generator-less random op on the calling thread draws with: the engine marked in
/// torch's CPU generator state, else the calling thread's (its innermost block's, or its default
/// engine outside blocks). A WorkerBlock's engine always wins on its thread.
Engine op_engine();

/// The stream of one philox-engine op that reads `n_counters` outputs: a WorkerBlock's
/// sub-stream on a worker thread, else the stream keyed by a 64-bit ticket drawn from torch's
/// default CPU generator. See Note [Philox engine streams].
Stream claim_op_stream(std::uint64_t n_counters);

}  // namespace rb::detail
