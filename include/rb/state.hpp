// rb::State: everything rb controls, as versioned bytes, for training checkpoints that resume bit
// for bit. See the README's "Checkpoints".
#pragma once

#include <cstdint>
#include <vector>

namespace rb {

/// What rb::save_state captured: versioned, documented bytes (Note [State bytes] in src/state.cpp)
/// holding the initial seed, the rank, the calling thread's open blocks (seeds, engines, stream
/// positions, the on-entry states of restoring blocks), its position outside blocks, torch's CPU
/// generator state and every CUDA device's seed and offset. Write `bytes` beside the model and
/// the optimizer; they are plain data, the same on every little-endian host.
struct State {
  std::vector<std::uint8_t> bytes;
};

/// The state of everything rb controls, seen from the calling thread.
///
///     rb::set_seed(42);
///     rb::Block training(128);
///     ...                                       // k epochs
///     const rb::State state = rb::save_state();  // save state.bytes with the model
///
/// Throws rb::Error before rb::set_seed.
State save_state();

/// Continues where `state` was saved: the calling thread must be in the same situation (the same
/// initial seed, rank, world size and default engine, the same blocks open, the same CUDA device
/// count, the same rb::kStreamVersion). Every check comes first: a mismatch, truncated or corrupted
/// bytes throw rb::Error naming what differs, and nothing is changed.
///
///     rb::set_seed(42);                          // in the new process
///     rb::Block training(128);                   // the blocks that were open
///     rb::load_state(state);                     // then epochs k + 1, ..., bit for bit
void load_state(const State& state);

}  // namespace rb
