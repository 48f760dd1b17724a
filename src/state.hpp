// What rb::State reads from and writes back to the calling thread's blocks (src/block.cpp).
// Private to rb::torch.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "rb/block.hpp"
#include "torch_state.hpp"

namespace rb::detail {

/// One open block of the calling thread.
struct FrameRecord {
  std::uint64_t block_seed;
  Key key;
  OnExit on_exit;
  Engine engine;
  std::uint32_t substream;             ///< c3 of the block's rb stream (a WorkerBlock: worker + 1)
  std::optional<std::uint32_t> rank;   ///< a distinct block's rank; none if replicated
  bool installs;                       ///< whether it installed torch's generators
  bool worker;                         ///< a WorkerBlock
  std::uint64_t position;              ///< the block's rb-stream position (rb::reserve, WorkerBlock)
  std::optional<TorchSnapshot> saved;  ///< the on-entry state of a restoring block
};

/// The calling thread's blocks and its rb stream outside blocks.
struct ThreadRecord {
  Engine default_engine;
  std::uint64_t root_position;
  std::vector<FrameRecord> frames;
};

/// A copy of the calling thread's blocks. Throws rb::Error before rb::set_seed (`what` completes
/// "... before rb::set_seed").
ThreadRecord record_thread(const char* what);

/// Puts `record`'s positions and on-entry states into the calling thread's open blocks, which the
/// caller has checked to be the same blocks. Never throws.
void restore_thread(const ThreadRecord& record) noexcept;

}  // namespace rb::detail
