// rb::path (a block seed from several parts: integers and strings) and rb::rank_key (the key of a
// distinct block on one rank). Header-only and torch-free; see Note [Ranks and paths].
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "rb/error.hpp"
#include "rb/stream.hpp"

namespace rb {

// Note [Ranks and paths]
// ~~~~~~~~~~~~~~~~~~~~~~
// Paths. A block seed may be built from parts: rb::path("augment", epoch, index). The path folds
// its parts in the style of JAX's fold_in, one Philox4x32-10 call per part, keyed by the running
// value:
//
//   v_0     = 0
//   v_{i+1} = words 0, 1 of philox((lo x_i, hi x_i, path_fold, t_i), key = v_i)
//   path    = v_n                                      (n >= 1: an empty path is an error)
//
// Part i is an integer x_i in [0, 2^64) with type tag t_i = 0, or a string with
// x_i = string_hash(its bytes) and t_i = 1: the tag keeps path(1) != path("1") whatever a string
// hashes to. A string's bytes are its UTF-8 encoding in Python and the bytes of the std::string,
// std::string_view or const char* in C++, so a UTF-8 source literal is the same part in both.
// string_hash is a Philox sponge over 8-byte little-endian chunks, the length absorbed first:
//
//   h_0     = words 0, 1 of philox((lo n, hi n, string_hash, 0), key = 0)      n = bytes
//   h_{j+1} = words 0, 1 of philox((lo m_j, hi m_j, string_hash, 1), key = h_j)
//
// with m_j the little-endian value of bytes 8j .. 8j + 7, zero-padded past the end (h_0 holds the
// length, so "ab" and "ab\0" differ). Both maps are frozen: tests/golden/path.txt pins them, in
// C++ (golden_path, at -O0, -O3 and with clang) and in Python (tests/python/test_paths.py).
//
// A path is a block seed like any other: the block's key is derive_key(initial seed, path).
// An integer block seed is not a path: Block(5) keeps the bits it always had, and path(5) is
// another block seed. Two different paths give the same seed with probability 2^-64 (each step is
// a permutation of its input under its key, so a collision needs equal running values).
//
// Ranks. A replicated block (rb::Ranks::replicated, the default) has the same key on every rank,
// as model initialisation needs. A distinct block (rb::Ranks::distinct) on rank r has the key
//
//   rank_key(k, r) = words 0, 1 of philox((r, 0, rank_fold, 0), key = k)       k = the block's key
//
// one Philox call, O(1). Because the rank is folded into the key, and not into a counter word,
// every domain of the block follows: torch's CPU state and CUDA seed, Python's random and NumPy,
// the rb stream and the philox engine. The world size does not enter: rank r draws the same
// numbers in a job of 2 ranks and of 8. A DataLoader worker of rblock.worker_init_fn on global
// rank r has the key rank_key(derive_key(base seed, worker id), r).
//
// Tags (c2, beside Domain::key_derivation 0xffffffff): path_fold 0xfffffffe, string_hash
// 0xfffffffd, rank_fold 0xfffffffc. None is a stream of a block (those are domains 0 .. 4, with
// 5 .. 0xfffffffb reserved for more), so no derivation reuses a counter of a block's streams.

namespace detail {

/// One Philox call of a derivation: words 0 (low) and 1 (high) of
/// philox((lo x, hi x, tag, type), key = k). See Note [Ranks and paths].
RB_HOST_DEVICE inline std::uint64_t fold(std::uint64_t k, std::uint64_t x, Domain tag,
                                         std::uint32_t type) {
  const Counter c{{lo32(x), hi32(x), static_cast<std::uint32_t>(tag), type}};
  const Counter out = philox(c, make_key(k));
  return join64(out.v[0], out.v[1]);
}

/// Type tags of path parts (c3 of a path_fold call).
inline constexpr std::uint32_t kIntegerPart = 0;
inline constexpr std::uint32_t kStringPart = 1;
/// The running value of a path before its first part (v_0).
inline constexpr std::uint64_t kPathStart = 0;

/// The hash of a string part: string_hash of Note [Ranks and paths].
inline std::uint64_t string_hash(std::string_view bytes) {
  std::uint64_t h = fold(0, bytes.size(), Domain::string_hash, 0);
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t chunk = 0;  // little-endian, zero-padded
    for (std::size_t b = 0; b < 8 && i + b < bytes.size(); ++b) {
      chunk |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i + b])) << (8 * b);
    }
    h = fold(h, chunk, Domain::string_hash, 1);
  }
  return h;
}

/// The running value `v` of a path after one more integer part `x`.
inline std::uint64_t fold_integer(std::uint64_t v, std::uint64_t x) {
  return fold(v, x, Domain::path_fold, kIntegerPart);
}
/// The running value `v` of a path after one more string part `bytes`.
inline std::uint64_t fold_string(std::uint64_t v, std::string_view bytes) {
  return fold(v, string_hash(bytes), Domain::path_fold, kStringPart);
}

// Character types, which rb::path refuses (is 'a' 97 or "a"?); std::int8_t and std::uint8_t,
// signed and unsigned char, are integers.
template <class T>
inline constexpr bool kIsCharacter = std::is_same_v<T, char> || std::is_same_v<T, wchar_t> ||
                                     std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

/// The running value `v` after part number `index` (from 0) of rb::path.
template <class T>
std::uint64_t fold_part(std::uint64_t v, const T& part, std::size_t index) {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_integral_v<U>) {
    static_assert(!std::is_same_v<U, bool>, "rb::path: a bool is not a path part; use 0 or 1");
    static_assert(!kIsCharacter<U>, "rb::path: a character is not a path part; pass a string");
    static_assert(sizeof(U) <= 8, "rb::path: integer parts have at most 64 bits");
    if constexpr (std::is_signed_v<U>) {
      if (part < 0) {
        throw Error("rb::path: part " + std::to_string(index) + " is " + std::to_string(part) +
                    ": integer parts must be in [0, 2^64).");
      }
    }
    return fold_integer(v, static_cast<std::uint64_t>(part));
  } else {
    static_assert(std::is_convertible_v<const T&, std::string_view>,
                  "rb::path: a part is an integer or a string (const char*, std::string, "
                  "std::string_view)");
    if constexpr (std::is_pointer_v<std::decay_t<T>>) {
      if (part == nullptr) {
        throw Error("rb::path: part " + std::to_string(index) +
                    " is a null const char*: pass a string.");
      }
    }
    return fold_string(v, std::string_view(part));
  }
}

}  // namespace detail

/// A block seed from parts, for blocks named by what they are for: integers >= 0 (of at most 64
/// bits) and strings (const char*, std::string, std::string_view: their bytes). The same parts give
/// the same seed in every program, in C++ and in Python (`rblock.path`), on every platform; see
/// Note [Ranks and paths]. Throws rb::Error for a negative integer or a null const char*; a path
/// needs at least one part.
///
///     for (std::int64_t i = 0; i < n; ++i) {
///       rb::Block b(rb::path("augment", epoch, i));  // depends on (initial seed, epoch, i) only
///       samples[i] = augment(samples[i]);
///     }
template <class... Parts>
std::uint64_t path(const Parts&... parts) {
  static_assert(sizeof...(Parts) > 0, "rb::path needs at least one part");
  std::uint64_t v = detail::kPathStart;
  std::size_t index = 0;
  ((v = detail::fold_part(v, parts, index++)), ...);
  return v;
}

/// The key of a distinct block on rank `rank`, from the block's key. See Note [Ranks and paths].
RB_HOST_DEVICE inline Key rank_key(Key key, std::uint32_t rank) {
  return make_key(detail::fold(key_value(key), rank, Domain::rank_fold, 0));
}

}  // namespace rb
