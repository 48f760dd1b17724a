// Philox4x32-10 on runs of consecutive counters of one stream, for the CPU kernels: AVX2 or
// AVX-512 intrinsics where the including file is compiled for them, Random123's rounds in plain
// C++ otherwise. Included by src/cpu/fill_kernels.hpp, once per instruction set.
#pragma once

#include <cstdint>
#include <cstring>

#include <Random123/philox.h>

#include "rb/stream.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace rb::detail {
namespace {  // one copy per instruction set: see Note [CPU instruction sets] in src/cpu/dispatch.cpp

// Note [Philox in 64-bit lanes]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A Philox4x32 round multiplies two 32-bit words by constants into 64-bit products and keeps both
// halves:
//
//   c0' = hi(M1 c2) ^ c1 ^ k0,  c1' = lo(M1 c2),  c2' = hi(M0 c0) ^ c3 ^ k1,  c3' = lo(M0 c0).
//
// x86's one vector instruction for that is vpmuludq (_mm256_mul_epu32, _mm512_mul_epu32): the low
// 32 bits of each 64-bit lane times those of the other operand, into the whole 64-bit lane. Left
// to the compiler, a loop over 32-bit lanes widens every word to 64 bits and narrows it back in
// every round (GCC 12's AVX2 code for rb's first, plain C++ batch had 8 vpmuludq among 88
// unpacks and 56 shuffles). Here each word lives in the low half of a 64-bit lane instead, one
// counter per lane (4 per AVX2 vector, 8 per AVX-512 vector), and a product stays where vpmuludq
// leaves it; `swap` (vpshufd) exchanges the halves of every lane.
//
// AVX-512, with c0..c3 in four vectors (only their low halves matter: vpmuludq reads no high half):
//   p0 = M0 c0, p1 = M1 c2;  c0 = swap(p1) ^ c1 ^ k0, c2 = swap(p0) ^ c3 ^ k1 (one vpternlogq
//   each);  c1 = p1, c3 = p0.                       3 operations per product, 8 counters.
// AVX2 has no three-input logic op, so two vectors carry a counter and the next round's key:
//   x = (c1 ^ k0 : c0), y = (c3 ^ k1 : c2)         (high half : low half)
//   p1 = M1 y = (hi1 : lo1);  x' = swap(p1 ^ (x.high : k0 of the next round)) (one vpblendd)
//      = (lo1 ^ k0' : hi1 ^ c1 ^ k0) = (c1' ^ k0' : c0'),  and y' from p0 = M0 x likewise.
//                                                   4 operations per product, 4 counters.
// With a key of 0 after the last round, x and y end as (c1 : c0) and (c3 : c2), two words per
// lane, ready to be interleaved into counter order. kGroups vectors of counters are in flight at
// once, so that the multiplies of one hide the latency of another (the counts were measured: more
// makes GCC spill registers). The baseline build keeps Random123's rounds in plain C++ on 64
// counters as struct-of-arrays lanes, which GCC vectorizes with SSE2 well enough there (faster than
// one counter at a time), and draws the last few counters of a run one at a time. Integer
// operations are exact: every instruction set gives Random123's bits, which
// tests/philox_batch_test.cpp and the generator tests check.

#if defined(__AVX512F__)
// GCC 12's AVX-512 intrinsics initialise their undefined operand from itself, which
// -Wmaybe-uninitialized reports wherever they are inlined (GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
using V = __m512i;
constexpr int kCounters = 8;  // counters per vector, one per 64-bit lane
constexpr int kGroups = 2;    // vectors of counters in flight
RB_FORCE_INLINE V set1(std::uint64_t x) { return _mm512_set1_epi64(static_cast<long long>(x)); }
RB_FORCE_INLINE V swap(V x) { return _mm512_shuffle_epi32(x, _MM_PERM_CDAB); }

/// The round keys of philox_lanes: keys[2r], keys[2r + 1] are k0 and k1 of round r.
void round_keys(Key key, V* keys) {
  std::uint32_t k0 = key.v[0], k1 = key.v[1];
  for (int round = 0; round < 10; ++round) {
    keys[2 * round] = set1(k0);
    keys[2 * round + 1] = set1(k1);
    k0 += PHILOX_W32_0;
    k1 += PHILOX_W32_1;
  }
}

/// kGroups * kCounters counters of `s` from position `first`, into out[0 .. 4 kGroups kCounters).
RB_FORCE_INLINE void philox_lanes(const Stream& s, std::uint64_t first, const V* keys, std::uint32_t* out) {
  const V m0 = set1(PHILOX_M4x32_0), m1 = set1(PHILOX_M4x32_1);
  V c0[kGroups], c1[kGroups], c2[kGroups], c3[kGroups];
  for (int g = 0; g < kGroups; ++g) {
    c0[g] = _mm512_add_epi64(set1(s.base + first + std::uint64_t{kCounters} * g),
                             _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));  // the positions
    c1[g] = _mm512_srli_epi64(c0[g], 32);
    c2[g] = set1(s.domain);
    c3[g] = set1(s.substream);
  }
  for (int round = 0; round < 10; ++round) {
    for (int g = 0; g < kGroups; ++g) {
      const V p0 = _mm512_mul_epu32(c0[g], m0);
      const V p1 = _mm512_mul_epu32(c2[g], m1);
      c0[g] = _mm512_ternarylogic_epi64(swap(p1), c1[g], keys[2 * round], 0x96);  // a ^ b ^ c
      c2[g] = _mm512_ternarylogic_epi64(swap(p0), c3[g], keys[2 * round + 1], 0x96);
      c1[g] = p1;
      c3[g] = p0;
    }
  }
  // Lane j of w01 becomes (c1 : c0) of counter j, of w23 (c3 : c2); the two are then interleaved.
  const V first4 = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);  // w01[0], w23[0], w01[1], ...
  const V last4 = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
  for (int g = 0; g < kGroups; ++g) {
    const V w01 = _mm512_mask_shuffle_epi32(c0[g], 0xaaaa, c1[g], _MM_PERM_CCAA);
    const V w23 = _mm512_mask_shuffle_epi32(c2[g], 0xaaaa, c3[g], _MM_PERM_CCAA);
    _mm512_storeu_si512(out + 32 * g, _mm512_permutex2var_epi64(w01, first4, w23));
    _mm512_storeu_si512(out + 32 * g + 16, _mm512_permutex2var_epi64(w01, last4, w23));
  }
}
#pragma GCC diagnostic pop
#elif defined(__AVX2__)
using V = __m256i;
constexpr int kCounters = 4;
constexpr int kGroups = 4;
RB_FORCE_INLINE V set1(std::uint64_t x) { return _mm256_set1_epi64x(static_cast<long long>(x)); }
RB_FORCE_INLINE V swap(V x) { return _mm256_shuffle_epi32(x, 0xb1); }  // dwords 1, 0, 3, 2

/// The round keys of philox_lanes: keys[2r], keys[2r + 1] hold k0 and k1 of round r + 1 in every
/// 32-bit element; those after the last round are 0.
void round_keys(Key key, V* keys) {
  std::uint32_t k0 = key.v[0], k1 = key.v[1];
  for (int round = 0; round < 10; ++round) {
    k0 += PHILOX_W32_0;
    k1 += PHILOX_W32_1;
    keys[2 * round] = _mm256_set1_epi32(static_cast<int>(round < 9 ? k0 : 0u));
    keys[2 * round + 1] = _mm256_set1_epi32(static_cast<int>(round < 9 ? k1 : 0u));
  }
}

RB_FORCE_INLINE void philox_lanes(const Stream& s, std::uint64_t first, const V* keys, std::uint32_t* out) {
  const V m0 = set1(PHILOX_M4x32_0), m1 = set1(PHILOX_M4x32_1);
  V x[kGroups], y[kGroups];
  for (int g = 0; g < kGroups; ++g) {
    const V positions = _mm256_add_epi64(set1(s.base + first + std::uint64_t{kCounters} * g),
                                         _mm256_set_epi64x(3, 2, 1, 0));  // (c1 : c0)
    x[g] = _mm256_xor_si256(positions, set1(std::uint64_t{s.key.v[0]} << 32));
    y[g] = set1(join64(s.domain, s.substream ^ s.key.v[1]));
  }
  for (int round = 0; round < 10; ++round) {
    for (int g = 0; g < kGroups; ++g) {
      const V p0 = _mm256_mul_epu32(x[g], m0);
      const V p1 = _mm256_mul_epu32(y[g], m1);
      // blend 0x55: the low halves from the key, the high halves from x (y)
      x[g] = swap(_mm256_xor_si256(p1, _mm256_blend_epi32(x[g], keys[2 * round], 0x55)));
      y[g] = swap(_mm256_xor_si256(p0, _mm256_blend_epi32(y[g], keys[2 * round + 1], 0x55)));
    }
  }
  for (int g = 0; g < kGroups; ++g) {  // x = (c1 : c0), y = (c3 : c2)
    const V even = _mm256_unpacklo_epi64(x[g], y[g]);  // counters 0 | 2
    const V odd = _mm256_unpackhi_epi64(x[g], y[g]);   // counters 1 | 3
    // 0x20: the low 128-bit halves of even and odd (counters 0, 1); 0x31: the high ones (2, 3)
    _mm256_storeu_si256(reinterpret_cast<V*>(out + 16 * g), _mm256_permute2x128_si256(even, odd, 0x20));
    _mm256_storeu_si256(reinterpret_cast<V*>(out + 16 * g + 8), _mm256_permute2x128_si256(even, odd, 0x31));
  }
}
#else
constexpr int kStep = 64;  // counters per step of the baseline build

/// kStep counters of `s` from position `first`, into out[0 .. 4 kStep).
inline void philox_lanes(const Stream& s, std::uint64_t first, std::uint32_t* __restrict out) {
  std::uint32_t c0[kStep], c1[kStep], c2[kStep], c3[kStep];
  for (int j = 0; j < kStep; ++j) {
    const std::uint64_t position = s.base + first + static_cast<std::uint64_t>(j);
    c0[j] = lo32(position);
    c1[j] = hi32(position);
    c2[j] = s.domain;
    c3[j] = s.substream;
  }
  std::uint32_t k0 = s.key.v[0], k1 = s.key.v[1];
  for (int round = 0; round < 10; ++round) {
    for (int j = 0; j < kStep; ++j) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(PHILOX_M4x32_0) * c0[j];
      const std::uint64_t p1 = static_cast<std::uint64_t>(PHILOX_M4x32_1) * c2[j];
      const std::uint32_t n0 = hi32(p1) ^ c1[j] ^ k0;
      const std::uint32_t n2 = hi32(p0) ^ c3[j] ^ k1;
      c1[j] = lo32(p1);
      c3[j] = lo32(p0);
      c0[j] = n0;
      c2[j] = n2;
    }
    k0 += PHILOX_W32_0;
    k1 += PHILOX_W32_1;
  }
  for (int j = 0; j < kStep; ++j) {
    out[4 * j + 0] = c0[j];
    out[4 * j + 1] = c1[j];
    out[4 * j + 2] = c2[j];
    out[4 * j + 3] = c3[j];
  }
}
#endif

/// The key schedule of a stream, computed once per run of philox_counters calls: the vectors of
/// round keys where the instruction set has them.
struct PhiloxKeys {
  const Stream& s;
#if defined(__AVX2__)
  V keys[20];
  explicit PhiloxKeys(const Stream& stream) : s(stream) { round_keys(s.key, keys); }
#else
  explicit PhiloxKeys(const Stream& stream) : s(stream) {}
#endif
};

/// Philox4x32-10 on n consecutive counters of `k.s` from position `first`: out[4j + w] is word w
/// of k.s.draw(first + j), j < n. See Note [Philox in 64-bit lanes].
inline void philox_counters(const PhiloxKeys& k, std::uint64_t first, std::uint64_t n,
                            std::uint32_t* __restrict out) {
  const Stream& s = k.s;
  std::uint64_t j = 0;
#if defined(__AVX2__)
  constexpr std::uint64_t kStep = kGroups * kCounters;
  for (; j + kStep <= n; j += kStep) philox_lanes(s, first + j, k.keys, out + 4 * j);
  if (j < n) {  // the last, partial step: computed whole, copied in part
    alignas(64) std::uint32_t words[4 * kStep];
    philox_lanes(s, first + j, k.keys, words);
    std::memcpy(out + 4 * j, words, 4 * sizeof(std::uint32_t) * (n - j));
  }
#else
  for (; j + kStep <= n; j += kStep) philox_lanes(s, first + j, out + 4 * j);
  const int rest = static_cast<int>(n - j);  // below kStep: one at a time, cheaper than a step
  for (int i = 0; i < rest; ++i) {
    const Counter c = s.draw(first + j + static_cast<std::uint64_t>(i));
    std::memcpy(out + 4 * (j + static_cast<std::uint64_t>(i)), c.v, sizeof c.v);
  }
#endif
}

}  // namespace
}  // namespace rb::detail
