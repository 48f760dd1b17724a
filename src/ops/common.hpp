// What rb's op kernels (src/ops/*.cpp) share: when rb draws a call, and filling a tensor from
// counters claimed only after every check and allocation. Private to rb::torch. See Note [Philox
// engine streams] and Note [Check, allocate, then claim].
#pragma once

#include <cstdint>
#include <optional>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/DispatchKeySet.h>
#include <c10/util/MaybeOwned.h>

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
/// get rb's clear errors). Without a generator: for a CPU or CUDA tensor of a dtype rb fills, when
/// the op's engine is philox (op_engine: the engine marked in torch's CPU generator state, else the
/// calling thread's; Note [Philox engine streams]); every other call runs torch's kernel on torch's
/// generator, a meta or complex tensor included. A torch generator always leaves the op to torch;
/// another library's generator at rb's dispatch key is refused (refuse_foreign).
bool use_rb(const OptGen& gen, const Tensor& t, Fills fills);

/// Throws rb::Error if `gen` is at DispatchKey::CustomRNGKeyId but is not one of rb's generators:
/// rb cannot draw from it, and torch's kernels would cast it to their own generator type.
void refuse_foreign(const at::Generator& gen);

/// The largest finite value of a floating dtype.
double floating_max(at::ScalarType t);

void check_floating(const Tensor& t, const char* op);
void check_supported(const Tensor& t, const char* op);
/// Refuses an output whose elements share memory (an expanded tensor), as torch's in-place ops do.
void check_no_overlap(const Tensor& out);

// Note [Check, allocate, then claim]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A call that is refused, or whose allocation fails, must leave the stream where it was, as
// torch's own kernels leave their generator. So every rb kernel checks its arguments and allocates
// every tensor it needs, then claims its counters (which advances the stream), and after that only
// fills and computes in place or into what it allocated. An rb kernel that calls another (randperm
// filling its keys, dropout its mask) does its own checks and allocations before that call.

/// One fill of a tensor: the constructor makes every check and the allocation; run() (or claim(),
/// fill_part() and finish()) then draws. See Note [Check, allocate, then claim].
class Fill {
 public:
  /// Checks that rb can fill `self` (its device, rb's CUDA kernels, the generator's device, no CUDA
  /// graph capture, no overlapping elements) and allocates its contiguous target: `self` itself, or
  /// a new tensor that finish() copies into it.
  Fill(Tensor& self, const OptGen& gen, const char* op);

  /// Fills the whole tensor per `request`: claim, fill_part and finish.
  void run(FillRequest request);

  /// Claims the counters of the whole tensor, with 64-bit elements if `wide`; returns the stream at
  /// the first of them.
  Stream claim(bool wide);
  /// Fills elements [first, first + n) of the target per `request` from `stream` (what claim
  /// returned); `first` is a multiple of the elements per Philox output.
  void fill_part(FillRequest request, const Stream& stream, std::int64_t first, std::int64_t n);
  /// Copies the target into the output, if they differ.
  void finish();

  const Tensor& target() const { return *target_; }

 private:
  Tensor& self_;
  // `self` borrowed, not copied: a copy of a tensor that only Python holds takes the GIL twice
  // (torch increfs its PyObject when the C++ count goes from 1 to 2), a fifth of a small call.
  c10::MaybeOwned<Tensor> target_;
  const OptGen& gen_;
  const char* op_;
};

/// Fills `self` (any layout: element i is the i-th in row-major order) per `request`, drawing
/// from `gen` or the active block stream: Fill(self, gen, op).run(request).
void fill(Tensor& self, FillRequest request, const OptGen& gen, const char* op);

/// A request for `sampler` with 64-bit elements if `wide`, and parameters a, b.
FillRequest request(Sampler sampler, bool wide, double a = 0, double b = 0);

/// Room for `bytes` bytes of a CPU kernel's scratch, valid until the calling thread's next call. A
/// buffer touched for the first time costs the kernel a page fault per 4 KiB (on this project's
/// machine about as much as a pass over it), so each thread keeps its largest one up to 64 MiB for
/// the next call; a larger request gets a fresh one. Call it before drawing (Note [Check, allocate,
/// then claim]).
void* scratch(std::size_t bytes);

/// The largest value of an integer dtype (bool: 1). src/ops/integers.cpp.
std::int64_t integer_max(at::ScalarType t);

/// Fills `self` with integers in [from, from + range); range 0 means 2^64. src/ops/integers.cpp.
void fill_random(Tensor& self, std::int64_t from, std::uint64_t range, const OptGen& gen,
                 const char* op);

}  // namespace rb::detail::ops
