// Parallel loops of rb's CPU kernels: at::parallel_for, but never in a forked child, where GNU
// OpenMP's pool is gone (Note [Fills after fork] in src/cpu/dispatch.cpp). Private to rb::torch.
#pragma once

#include <cstdint>

#include <ATen/Parallel.h>

namespace rb::detail {

/// Whether this process was forked after rb was loaded. See Note [Fills after fork].
bool in_forked_child() noexcept;

/// at::parallel_for(begin, end, grain, f), except in a forked child, where f(begin, end) runs on
/// the calling thread: every rb kernel splits its work so that the result does not depend on how.
/// A range of one grain runs on the calling thread too, without at::parallel_for's guards (rb's
/// kernels start no parallel loop of their own): a small call's cost.
template <class F>
void cpu_parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, const F& f) {
  if (begin >= end) return;
  if (end - begin <= grain || in_forked_child()) {
    f(begin, end);
    return;
  }
  at::parallel_for(begin, end, grain, f);
}

}  // namespace rb::detail
