// rb::philox: the Philox4x32-10 block function of Random123, as a pure host/device function.
// Everything rb draws is built on it; see Note [Counter layout] in rb/stream.hpp.
#pragma once

#include <cstdint>

#include <Random123/philox.h>

#include "rb/config.hpp"

namespace rb {

/// The 128-bit input of Philox4x32: four 32-bit words c0..c3 (see Note [Counter layout]).
struct Counter {
  std::uint32_t v[4];
};

/// The 64-bit Philox4x32 key, as two 32-bit words (low word first).
struct Key {
  std::uint32_t v[2];
};

RB_HOST_DEVICE constexpr bool operator==(const Counter& a, const Counter& b) {
  return a.v[0] == b.v[0] && a.v[1] == b.v[1] && a.v[2] == b.v[2] && a.v[3] == b.v[3];
}
RB_HOST_DEVICE constexpr bool operator!=(const Counter& a, const Counter& b) { return !(a == b); }
RB_HOST_DEVICE constexpr bool operator==(const Key& a, const Key& b) {
  return a.v[0] == b.v[0] && a.v[1] == b.v[1];
}
RB_HOST_DEVICE constexpr bool operator!=(const Key& a, const Key& b) { return !(a == b); }

/// The low and high 32-bit halves of a 64-bit value.
RB_HOST_DEVICE constexpr std::uint32_t lo32(std::uint64_t x) { return static_cast<std::uint32_t>(x); }
RB_HOST_DEVICE constexpr std::uint32_t hi32(std::uint64_t x) {
  return static_cast<std::uint32_t>(x >> 32);
}
/// The 64-bit value whose halves are `lo` and `hi`.
RB_HOST_DEVICE constexpr std::uint64_t join64(std::uint32_t lo, std::uint32_t hi) {
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

/// A key from a 64-bit value (low word first).
RB_HOST_DEVICE constexpr Key make_key(std::uint64_t k) { return Key{{lo32(k), hi32(k)}}; }
/// The 64-bit value of a key (low word first).
RB_HOST_DEVICE constexpr std::uint64_t key_value(Key k) { return join64(k.v[0], k.v[1]); }

/// Philox4x32 with `Rounds` rounds, computed by Random123's `philox4x32_R`.
/// rb uses 10 rounds (`rb::philox`); other counts exist for Random123's known-answer tests.
template <unsigned Rounds>
RB_HOST_DEVICE RB_FORCE_INLINE Counter philox_rounds(Counter c, Key k) {
  static_assert(Rounds <= 16, "Random123 defines Philox4x32 for at most 16 rounds");
  const philox4x32_ctr_t in = {{c.v[0], c.v[1], c.v[2], c.v[3]}};
  const philox4x32_key_t key = {{k.v[0], k.v[1]}};
  const philox4x32_ctr_t out = philox4x32_R(Rounds, in, key);
  return Counter{{out.v[0], out.v[1], out.v[2], out.v[3]}};
}

/// Philox4x32-10 (Salmon et al., SC'11): a keyed bijection of 128-bit counters, the primitive of rb.
/// Pure: the same (counter, key) gives the same four words on every host and GPU.
///
///     rb::Counter out = rb::philox(stream.counter(i), stream.key);
RB_HOST_DEVICE RB_FORCE_INLINE Counter philox(Counter c, Key k) { return philox_rounds<10>(c, k); }

}  // namespace rb
