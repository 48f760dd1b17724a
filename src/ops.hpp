// What rb's op layer (src/ops/) registers, for the coverage test and the README.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rb::detail {

/// The indices 0..n-1 ordered by `keys` (signed, ascending), ties by index: what a stable sort
/// gives, in O(n) for uniform random keys. rb's CPU randperm; see Note [randperm by sorting keys].
void argsort_keys(const std::int64_t* keys, std::int64_t n, std::int64_t* out);

/// aten ops that take a Generator and that rb's generator does not cover: given rb's generator
/// they raise rb::Error; without one they run torch's kernel (torch's generators hold the block's
/// installed state).
const std::vector<std::string>& uncovered_generator_ops();

/// The random aten ops that, inside a philox-engine block, run torch's kernel on torch's
/// generators (which hold the block's installed state), each with the reason. The coverage test
/// checks that every random op of torch is covered by rb, decomposes into ops that are, or is here.
const std::vector<std::pair<std::string, std::string>>& fallback_ops();

/// Registers rb's fallthrough at CustomRNGKeyId for the operators defined since the last call that
/// need one (Note [Composite kernels at CustomRNGKeyId]); one atomic load when there are none.
void sweep_new_operators() noexcept;

}  // namespace rb::detail
