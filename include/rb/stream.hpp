// Block keys and counter streams: derive_key, the counter layout, and rb::Stream for kernels.
#pragma once

#include <cstdint>

#include "rb/config.hpp"
#include "rb/philox.hpp"

namespace rb {

/// Version of the map (initial seed, block seed, domain, position) -> bits and of every sampler's
/// mapping. Bumped, with a line in the README's changelog, whenever any of them changes.
inline constexpr std::uint32_t kStreamVersion = 2;

// Note [Counter layout]
// ~~~~~~~~~~~~~~~~~~~~~
// A block is one Philox key, derive_key(initial seed, block seed). Everything drawn in the block
// is philox(counter, key) for a counter laid out as
//
//   c0, c1  position: a 64-bit count of 128-bit outputs (c0 low word, c1 high word);
//   c2      domain: what this range of counters is for (rb::Domain);
//   c3      sub-stream: 0 by default; worker + 1 in an rb::WorkerBlock.
//
// Ranks do not take a sub-stream: a distinct block (rb::Ranks::distinct) folds the rank into the
// block's key, so that every domain (torch's CPU state and CUDA seed, Python's generators, the rb
// stream) follows at once. See Note [Ranks and paths] in rb/path.hpp.
//
// Domains never share a counter, so installing torch's CPU state never reuses a word of the rb
// stream, and so on.
//
// Note [Stream end]
// ~~~~~~~~~~~~~~~~~
// The rb stream of a block holds the outputs at positions 0 .. 2^64 - 2, far beyond what any
// program draws; kStreamEnd = 2^64 - 1 is the position after the last one. rb::reserve and rb's
// generator refuse (rb::Error, changing nothing) a reservation or draw that would go past it,
// instead of wrapping around to counters they already handed out.

/// The position after the last output of a stream. See Note [Stream end].
inline constexpr std::uint64_t kStreamEnd = ~std::uint64_t{0};

/// The domain tags of Note [Counter layout]. Values are part of the bits promise (kStreamVersion).
enum class Domain : std::uint32_t {
  rb_stream = 0,      ///< rb's generator, philox-engine ops and rb::reserve for kernels
  torch_cpu = 1,      ///< the 624-word Mersenne Twister state of LibTorch's CPU generator
  torch_cuda = 2,     ///< the 64-bit seed of LibTorch's CUDA generators
  python_random = 3,  ///< the Mersenne Twister state of Python's `random`
  numpy = 4,          ///< the Mersenne Twister state of NumPy's legacy global generator
  // 5 .. 0xfffffffb are reserved for future domains. The tags below are not streams of a block:
  // each is one Philox call of a derivation (Note [Key derivation], Note [Ranks and paths]).
  rank_fold = 0xfffffffcu,       ///< a distinct block's key on rank r (under the block's key)
  string_hash = 0xfffffffdu,     ///< rb::path's hash of a string part (under the running hash)
  path_fold = 0xfffffffeu,       ///< rb::path's fold of one part (under the running value)
  key_derivation = 0xffffffffu,  ///< the counters of derive_key (under the initial seed as key)
};

// Note [Key derivation]
// ~~~~~~~~~~~~~~~~~~~~~
// derive_key(s, b) = the first two words of philox((lo b, hi b, key_derivation, 0), key = s).
// Philox-10 is a pseudorandom permutation, so each output bit depends on every input bit: a one-bit
// change of either seed flips about half of the key's bits, and for n distinct (s, b) pairs the
// probability that two share a key is at most n(n-1)/2 * 2^-64, about n^2 / 2^65 (for a million
// blocks, 3e-8). The derivation is O(1): one Philox call, whatever the block seed.

/// The Philox key of block `block_seed` under `initial_seed`. See Note [Key derivation].
RB_HOST_DEVICE inline Key derive_key(std::uint64_t initial_seed, std::uint64_t block_seed) {
  const Counter c{{lo32(block_seed), hi32(block_seed),
                   static_cast<std::uint32_t>(Domain::key_derivation), 0u}};
  const Counter out = philox(c, make_key(initial_seed));
  return Key{{out.v[0], out.v[1]}};
}

/// A range of counters of one block: key, domain, sub-stream and a position base. Trivially
/// copyable, so a kernel takes it by value. Output i of the stream is
/// `philox(stream.counter(i), stream.key)`; skipping ahead is O(1).
///
///     __global__ void fill(rb::Stream s, float* out, std::uint64_t n) {
///       std::uint64_t i = blockIdx.x * blockDim.x + threadIdx.x;
///       if (i < n) out[i] = rb::uniform_float(s.draw(i).v[0]);
///     }
struct Stream {
  Key key;
  std::uint32_t domain;     ///< a Domain tag (c2)
  std::uint32_t substream;  ///< c3; 0 unless ranks or workers split a stream
  std::uint64_t base;       ///< the position of counter(0)

  /// The counter of output `i` of this stream. See Note [Counter layout].
  RB_HOST_DEVICE Counter counter(std::uint64_t i) const {
    const std::uint64_t position = base + i;  // modulo 2^64; reservations end at kStreamEnd
    return Counter{{lo32(position), hi32(position), domain, substream}};
  }
  /// Output `i` of this stream: `philox(counter(i), key)`.
  RB_HOST_DEVICE Counter draw(std::uint64_t i) const { return philox(counter(i), key); }
  /// The same stream, `n` outputs further on.
  RB_HOST_DEVICE Stream skip(std::uint64_t n) const {
    Stream s = *this;
    s.base += n;
    return s;
  }
};

/// The stream of `domain` in the block with key `key`, at position 0.
RB_HOST_DEVICE inline Stream make_stream(Key key, Domain domain, std::uint32_t substream = 0) {
  return Stream{key, static_cast<std::uint32_t>(domain), substream, 0};
}

}  // namespace rb
