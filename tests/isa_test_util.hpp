// Runs a test body once per instruction set of rb's CPU kernels that this CPU runs. For tests with
// src/ on their include path (fill.hpp is private to rb::torch).
#pragma once

#include <iostream>
#include <string>
#include <utility>

#include "fill.hpp"

namespace rb::test {

/// Calls f(name) with each instruction set this CPU runs selected by set_cpu_isa, in the order
/// scalar, avx2, avx512 (a note says which ones the CPU lacks), then selects the one chosen before.
template <class F>
void for_each_cpu_isa(F f) {
  const detail::Isa chosen = detail::cpu_isa();
  for (detail::Isa isa : {detail::Isa::scalar, detail::Isa::avx2, detail::Isa::avx512}) {
    const std::string name = detail::cpu_isa_name(isa);
    if (!detail::cpu_supports(isa)) {
      std::cout << "[ NOTE     ] this CPU has no " << name << "; that path was not checked\n";
      continue;
    }
    detail::set_cpu_isa(isa);
    f(name);
  }
  detail::set_cpu_isa(chosen);
}

}  // namespace rb::test
