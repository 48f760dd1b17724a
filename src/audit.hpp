// What src/block.cpp and rblock's extension call to detect reused blocks (src/reuse.cpp) and to
// write the trace (src/trace.cpp). Private to rb::torch and rblock._C.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rb/audit.hpp"
#include "rb/block.hpp"
#include "state.hpp"

namespace rb::detail {

// ---- reuse (src/reuse.cpp) -------------------------------------------------------------------

/// Before a block with key `key` is entered from `site` (Note [Block reuse]): nothing when the key
/// is new, or was entered from this site, or this pair of sites was reported already, or the site is
/// unknown; else, under Reuse::error, throws rb::Error; under Reuse::warn, warns with
/// `reporter` (TORCH_WARN when it is null), which may throw to refuse the entry. Records the key's
/// first site. Call it last among an entry's checks, before anything changes.
void check_reuse(Key key, std::uint64_t block_seed, Site site, const ReuseReporter& reporter);

/// What a reuse report says: `prefix` ("rb", "rblock") and `allow`, the call that allows reuses in
/// the caller's language.
std::string reuse_message(const ReuseReport& report, const char* prefix, const char* allow);

/// Forgets every key and reported pair: rb::set_seed starts a new run.
void forget_reuse() noexcept;

/// Whether two sites are the same place (same line, same file name).
bool same_site(Site a, Site b) noexcept;

/// For a philox-engine op about to draw `n_counters` rb stream outputs, in one look at the calling
/// thread's blocks: false in a WorkerBlock (which draws its own sub-stream: take_active_stream,
/// which counts them); otherwise counts them as drawn by the innermost block, if any (the op draws
/// a ticket), and true. src/block.cpp.
bool count_ticket_draw(std::uint64_t n_counters) noexcept;

// ---- trace (src/trace.cpp) -------------------------------------------------------------------

/// Whether a trace is being written: the one branch a block exit pays while none is.
extern std::atomic<bool> g_tracing;
inline bool tracing_now() noexcept { return g_tracing.load(std::memory_order_relaxed); }

/// What the trace line of a block says beyond its FrameRecord.
struct TracedExit {
  Site site;
  std::size_t depth;            ///< 1 for an outermost block
  std::uint64_t drawn;          ///< rb stream outputs claimed while it was the innermost block
  const std::string* path;      ///< the JSON array of its path's parts, or empty
};

/// Writes the trace line of `frame`, which is about to be left (torch's generators still hold
/// what it drew). Never throws: a failed write warns and stops the trace.
void trace_exit(const FrameRecord& frame, const TracedExit& exit) noexcept;

/// Starts the trace named by RB_TRACE, once per process (rb::set_seed(initial_seed) calls it, before
/// it changes anything). Throws rb::Error when the file cannot be created.
void start_trace_from_environment(std::uint64_t initial_seed);

/// rb::start_trace, with the initial seed its first line records (nullopt: not seeded yet).
void open_trace(const std::string& path, std::optional<std::uint64_t> initial_seed);

/// What a Python process adds to the trace: `environment` (JSON members, without braces, for the
/// first line) and `line` (appends members such as `,"random":"..."` to each block's line; called
/// on the thread leaving the block; must not throw).
void set_trace_hooks(std::string environment, void (*line)(std::string& out));

/// The environment's members of a trace's first line (rb, torch, CUDA, ...: Note [Trace format]),
/// JSON without braces (src/trace_environment.cpp).
std::string environment_members(std::optional<std::uint64_t> initial_seed);

/// Appends `text` (UTF-8) to `out` as a JSON string, quotes included.
void append_json_string(std::string& out, std::string_view text);

/// FNV-1a, 64-bit, over 64-bit words (Note [Trace fingerprints]): what the trace records of a
/// generator state.
class Fingerprint {
 public:
  void add(std::uint64_t word) noexcept {
    value_ = (value_ ^ word) * 0x100000001b3ull;  // FNV-1a's 64-bit prime
  }
  /// Words of 32 bits, two per 64-bit word (low first); an odd last one alone.
  void add_words(const std::uint32_t* words, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 1 < n; i += 2) add(words[i] | static_cast<std::uint64_t>(words[i + 1]) << 32);
    if (i < n) add(words[i]);
  }
  std::uint64_t value() const noexcept { return value_; }

 private:
  std::uint64_t value_ = 0xcbf29ce484222325ull;  // FNV-1a's 64-bit offset basis
};

/// `value` as 16 lowercase hex digits in JSON quotes, appended to `out`.
void append_hex(std::string& out, std::uint64_t value);

}  // namespace rb::detail
