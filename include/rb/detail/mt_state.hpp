// The full 624-word Mersenne Twister state of a block, for torch's CPU generator, Python's `random`
// and NumPy's global generator. Header-only and torch-free.
#pragma once

#include <array>
#include <cstdint>

#include "rb/stream.hpp"

namespace rb::detail {

/// Words in an MT19937 state (the Mersenne Twister's n).
inline constexpr int kMtStateWords = 624;

// Note [Full Mersenne Twister state]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A seeded Mersenne Twister keeps 19937 bits of state, but torch::manual_seed and similar routines
// fill them from a 32-bit seed, so at most 2^32 streams exist and two 64-bit seeds that agree in
// their low 32 bits give the same numbers. rb fills all 624 words from the block's counters
// instead: word 4j + w is word w of philox((j, 0, domain, 0), key), j = 0..155. The top bit of
// word 0 is then set, as the reference init_by_array does, so the state is never the degenerate
// one (only the top bit of word 0 enters the recurrence, and the other 19937 - 1 bits could all
// be zero). The state is installed as "624 words, none used yet": the first draw twists it.

/// The MT19937 state of `domain` in the block with key `key`. See Note [Full Mersenne Twister state].
inline std::array<std::uint32_t, kMtStateWords> mt_state(Key key, Domain domain) {
  std::array<std::uint32_t, kMtStateWords> state{};
  const Stream stream = make_stream(key, domain);
  for (int j = 0; j < kMtStateWords / 4; ++j) {
    const Counter out = stream.draw(static_cast<std::uint64_t>(j));
    for (int w = 0; w < 4; ++w) state[4 * j + w] = out.v[w];
  }
  state[0] |= 0x80000000u;  // never the all-zero state; see the Note
  return state;
}

/// The 64-bit seed of torch's CUDA generators in the block with key `key`: words 0 (low) and 1
/// (high) of output 0 of the torch_cuda domain.
inline std::uint64_t cuda_seed(Key key) {
  const Counter out = make_stream(key, Domain::torch_cuda).draw(0);
  return join64(out.v[0], out.v[1]);
}

}  // namespace rb::detail
