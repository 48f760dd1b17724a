// Chooses the instruction set of rb's CPU kernels and runs them in parallel.
#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../fill.hpp"
#include "../parallel.hpp"
#include "sort.hpp"
#include "rb/block.hpp"

namespace rb::detail {

// Note [CPU instruction sets]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// src/cpu/fill_kernels.hpp is compiled three times: for baseline x86-64 (SSE2), for AVX2 and
// for AVX-512 (F, DQ, BW, VL), each with -ffp-contract=off and without fast-math. Its loops are
// plain C++ that GCC vectorizes, made only of operations IEEE 754 rounds exactly (see Note
// [Portable arithmetic]), so the three builds give the same bits; the tests compare them on every
// sampler and dtype. fill_cpu picks the best one the CPU supports, unless RB_CPU_ISA or
// set_cpu_isa says otherwise. Work is split with at::parallel_for over whole Philox outputs, so the
// number of threads never changes a value either.

namespace {

/// The kernel of the chosen instruction set.
template <class Kernel>
Kernel* for_isa(Kernel* scalar, Kernel* avx2, Kernel* avx512) {
  switch (cpu_isa()) {
    case Isa::avx512: return avx512;
    case Isa::avx2: return avx2;
    default: return scalar;
  }
}

Isa best_isa() {
  if (cpu_supports(Isa::avx512)) return Isa::avx512;
  if (cpu_supports(Isa::avx2)) return Isa::avx2;
  return Isa::scalar;
}

Isa initial_isa() {
  const char* env = std::getenv("RB_CPU_ISA");
  if (!env || !*env) return best_isa();
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    if (std::strcmp(env, cpu_isa_name(isa)) == 0) {
      if (!cpu_supports(isa)) {
        throw Error(std::string("RB_CPU_ISA=") + env + ": this CPU cannot run it; unset RB_CPU_ISA.");
      }
      return isa;
    }
  }
  throw Error(std::string("RB_CPU_ISA=") + env + ": expected scalar, avx2 or avx512.");
}

std::atomic<Isa>& selected() {
  static std::atomic<Isa> isa{initial_isa()};
  return isa;
}

// Note [Fills after fork]
// ~~~~~~~~~~~~~~~~~~~~~~~
// GNU OpenMP's thread pool does not survive fork(): a child forked after its parent ran any
// parallel region (torch's own ops start one) hangs in its next one. So in a forked child rb's CPU
// kernels (fills, randperm's sort, multinomial: cpu_parallel_for in src/parallel.hpp) run on the
// calling thread alone: a pthread_atfork handler records that the process is a child. The values
// are those of any other number of threads (Note [CPU instruction sets]).
std::atomic<bool> g_forked{false};
[[maybe_unused]] const int kForkHandler =
    pthread_atfork(nullptr, nullptr, [] { g_forked.store(true, std::memory_order_relaxed); });

}  // namespace

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    case Isa::avx2: return __builtin_cpu_supports("avx2");
    default: return true;
  }
}

const char* cpu_isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "scalar";
  }
}

bool in_forked_child() noexcept { return g_forked.load(std::memory_order_relaxed); }

Isa cpu_isa() { return selected().load(std::memory_order_relaxed); }

void set_cpu_isa(Isa isa) {
  if (!cpu_supports(isa)) {
    throw Error(std::string("rb: this CPU cannot run the ") + cpu_isa_name(isa) + " kernels.");
  }
  selected().store(isa, std::memory_order_relaxed);
}

void fill_cpu(const FillRequest& request) {
  const std::uint64_t counters = counters_for(request.n, request.wide);
  if (counters == 0) return;
  const auto fill = for_isa(fill_range_scalar, fill_range_avx2, fill_range_avx512);
  // 16384 outputs (256 KiB of words) per task: large enough to amortize a task, small enough to
  // spread a few MiB over the threads.
  constexpr std::int64_t kGrain = 16384;
  cpu_parallel_for(0, static_cast<std::int64_t>(counters), kGrain,
                   [&](std::int64_t begin, std::int64_t end) {
                     fill(request, static_cast<std::uint64_t>(begin), static_cast<std::uint64_t>(end));
                   });
}

void philox_words(const Stream& s, std::uint64_t first, std::uint64_t counters, std::uint32_t* out) {
  for_isa(philox_words_scalar, philox_words_avx2, philox_words_avx512)(s, first, counters, out);
}

void randperm_words(const Stream& s, std::int64_t first, std::int64_t last, std::uint64_t index_mask,
                    std::uint64_t* w) {
  for_isa(randperm_words_scalar, randperm_words_avx2, randperm_words_avx512)(s, first, last, index_mask, w);
}

void counting_sort(const std::uint64_t* a, std::int64_t size, int shift, int bits, std::uint32_t* table,
                   std::uint64_t* to) {
  for_isa(counting_sort_scalar, counting_sort_avx2, counting_sort_avx512)(a, size, shift, bits, table, to);
}

bool finish_run(std::uint64_t* a, std::int64_t size, std::uint64_t index_mask, std::int64_t* out) {
  return for_isa(finish_run_scalar, finish_run_avx2, finish_run_avx512)(a, size, index_mask, out);
}

}  // namespace rb::detail
