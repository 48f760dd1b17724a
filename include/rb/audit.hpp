// Finding where two runs diverged: call sites of blocks, reuse detection and the per-block trace.
// See Note [Block reuse] in src/reuse.cpp and Note [Trace format] in src/trace.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace rb {

/// Where a block is entered in the source: rb::Block and rb::with_block take one as their last,
/// defaulted argument, which the compiler fills with the caller's file and line (as
/// std::source_location::current() would, also in C++17). Pass one explicitly only to attribute a
/// block to another place, e.g. a helper's caller:
///
///     void in_block(std::uint64_t s, rb::Site site = {}) { rb::Block b(s, rb::Ranks::replicated, site); }
struct Site {
  const char* file;    ///< a string of static storage (a literal); nullptr: unknown
  std::uint32_t line;  ///< 0: unknown

  /// The caller's location when used as a default argument (`rb::Site site = {}`).
  constexpr Site(const char* file = __builtin_FILE(),
                 std::uint32_t line = __builtin_LINE()) noexcept
      : file(file), line(line) {}
};

/// What rb does when a block's key is entered from two call sites of one run (the same block seed,
/// or path, under the same initial seed and rank): both draw the same numbers, which is rarely
/// meant. Re-entering from the same site (a loop, a function called every epoch) is never a reuse.
enum class Reuse {
  allow,  ///< say nothing
  warn,   ///< warn once per pair of sites (TORCH_WARN; in Python a rblock.ReuseWarning); the default
  error,  ///< throw rb::Error when entering, before anything changes
};

/// Sets what rb does about reused blocks, process-wide (see Reuse). rb::set_seed forgets the
/// blocks seen so far: each seeding starts a new run.
///
///     rb::set_reuse_policy(rb::Reuse::error);  // in tests: a copied block seed fails loudly
void set_reuse_policy(Reuse policy);
/// The current reuse policy (Reuse::warn unless set_reuse_policy changed it).
Reuse reuse_policy() noexcept;

/// Starts writing the trace of this process to `path` (created or truncated): one JSON line with
/// the environment (rb, torch, CUDA, cuDNN, GPUs, CPU instruction set, determinism flags), then one
/// JSON line per block exit on any thread: its block seed, key, call site, depth, thread, rank,
/// engine, the rb stream outputs it drew and fingerprints of torch's generators at its exit. The
/// environment variable RB_TRACE=path does the same at the first rb::set_seed. Compare two traces
/// with `python -m rblock.diff a.jsonl b.jsonl`. Throws rb::Error when the file cannot be created
/// or a trace is already being written.
///
///     rb::start_trace("run.jsonl");
///     train();
///     rb::stop_trace();
void start_trace(const std::string& path);
/// Stops writing the trace and closes its file; nothing happens when none is being written.
void stop_trace() noexcept;
/// Whether a trace is being written.
bool tracing() noexcept;

namespace detail {

/// A block entered from a second call site (Note [Block reuse] in src/reuse.cpp).
struct ReuseReport {
  std::uint64_t block_seed;
  Site first;     ///< where its key was entered first
  Site second;    ///< where it is entered now
  Reuse policy;   ///< Reuse::warn or Reuse::error
};

/// How an entry reports a reuse instead of rb's own TORCH_WARN and rb::Error (rblock's Python
/// warnings and exceptions): `report` may throw to refuse the entry, and must under Reuse::error.
struct ReuseReporter {
  void (*report)(void* context, const ReuseReport& report) = nullptr;
  void* context = nullptr;
};

}  // namespace detail
}  // namespace rb
