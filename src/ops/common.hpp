// What rb's op kernels (src/ops/*.cpp) share: when rb draws a call, claiming its counters, and
// filling a tensor from them. Private to rb::torch. See Note [Philox engine routing].
#pragma once

#include <cstdint>
#include <optional>

#include <ATen/core/Tensor.h>
#include <ATen/core/Generator.h>
#include <c10/core/DispatchKeySet.h>

#include "../fill.hpp"

namespace rb::detail::ops {

using at::Tensor;
using OptGen = std::optional<at::Generator>;

inline constexpr c10::DispatchKey kKey = c10::DispatchKey::CustomRNGKeyId;

/// The keys below ours: where torch's own kernel for the op lives.
inline c10::DispatchKeySet below(c10::DispatchKeySet ks) {
  return ks & c10::DispatchKeySet(c10::DispatchKeySet::FULL_AFTER, kKey);
}

bool is_floating(at::ScalarType t);
bool is_supported(at::ScalarType t);
inline bool is_double(const Tensor& t) { return t.scalar_type() == at::kDouble; }

/// The dtypes an op's rb kernel fills.
enum class Fills { floating, supported };

/// Whether rb draws this call into `t`. With rb's generator: always (wrong devices and dtypes then
/// get rb's clear errors). Without a generator: only on a thread whose own innermost block (or
/// default engine) is philox, for a CPU or CUDA tensor of a dtype rb fills; every other call runs
/// torch's kernel on torch's generator: a meta or complex tensor, and a thread that inherited the
/// routing key with torch's thread-local state (at::launch tasks, autograd's device threads) but
/// not the block. A torch generator always leaves the op to torch.
bool use_rb(const OptGen& gen, const Tensor& t, Fills fills);

/// The largest finite value of a floating dtype.
double floating_max(at::ScalarType t);

void check_floating(const Tensor& t, const char* op);
void check_supported(const Tensor& t, const char* op);

/// Fills `self` (any layout: element i is the i-th in row-major order) per `request`, drawing
/// from `gen` or the active block stream.
void fill(Tensor& self, FillRequest request, const OptGen& gen, const char* op);

/// A request for `sampler` with 64-bit elements if `wide`, and parameters a, b.
FillRequest request(Sampler sampler, bool wide, double a = 0, double b = 0);

/// The largest value random_ draws into dtype `t` (Note [random_ ranges]); src/ops/integers.cpp.
std::int64_t type_max(at::ScalarType t);

/// Fills `self` with integers in [from, from + range); range 0 means 2^64. src/ops/integers.cpp.
void fill_random(Tensor& self, std::int64_t from, std::uint64_t range, const OptGen& gen, const char* op);

}  // namespace rb::detail::ops
