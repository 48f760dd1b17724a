// Advancing a stream position without ever passing the stream's end. Private to rb::torch.
#pragma once

#include <cstdint>
#include <string>

#include "rb/block.hpp"
#include "rb/stream.hpp"

namespace rb::detail {

/// `position + n`, or rb::Error (changing nothing) when that would pass kStreamEnd: see Note
/// [Stream end]. `what` and `block_seed` name the caller's stream in the message.
inline std::uint64_t advanced(std::uint64_t position, std::uint64_t n, const char* what,
                              std::uint64_t block_seed) {
  if (n > kStreamEnd - position) {
    throw Error(std::string("rb: ") + what + " " + std::to_string(block_seed) + " at position " +
                std::to_string(position) + " cannot give " + std::to_string(n) +
                " more outputs: a stream ends after 2^64 - 1 outputs, and " +
                "going on would hand out its counters again. Draw from another block (or set the " +
                "generator's offset back).");
  }
  return position + n;
}

}  // namespace rb::detail
