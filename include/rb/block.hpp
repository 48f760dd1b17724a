// Reproducible blocks: rb::set_seed, rb::Block and rb::with_block over LibTorch's default generators.
// See the README's "Guarantees" for what a block promises, and SPEC.md "Blocks" for the contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rb/audit.hpp"
#include "rb/error.hpp"
#include "rb/path.hpp"
#include "rb/ranks.hpp"
#include "rb/stream.hpp"

namespace rb {

/// What happens to torch's generators when a block exits.
enum class OnExit {
  keep,     ///< they continue from where the block left them (the Python package's default)
  restore,  ///< they return to the exact state they had on entry, bit for bit
};

/// Where generator-less random ops draw from inside a block.
enum class Engine {
  torch,   ///< torch's own default generators, holding the block's installed state
  philox,  ///< rb's counter-based stream of the block (ops rb covers; others fall back to torch)
};

/// Seeds rb: installs block 0 into every covered generator and records it as the reference state.
/// Call it once, at the start of the program, outside any block.
///
///     rb::set_seed(42);
///     { rb::Block b(64); model->reset_parameters(); }
void set_seed(std::uint64_t initial_seed);

/// The seed given to rb::set_seed. Throws rb::Error before the first rb::set_seed.
std::uint64_t initial_seed();

/// Puts every covered generator back into the state it had right after rb::set_seed (block 0), and
/// the calling thread's rb stream outside blocks back to its start. Open blocks stay open.
void reset_to_reference_state();

/// The engine a Block uses when none is given, for blocks entered on the calling thread; with
/// Engine::philox, the calling thread's generator-less ops outside blocks draw from block 0's rb
/// stream. Each thread starts with Engine::torch.
void set_default_engine(Engine engine);
/// The calling thread's default engine (see set_default_engine).
Engine default_engine();

/// A reproducible block, as a scope guard. While it is alive, torch's default CPU generator and the
/// default generator of every CUDA device hold a state that depends only on (initial seed, block
/// seed), installed in O(1) whatever the block seed; rb's stream of the block starts at position 0.
///
///     rb::set_seed(42);
///     torch::nn::Linear fc(nullptr);
///     {
///       rb::Block block(44);  // fc's weights do not depend on what ran before
///       fc = torch::nn::Linear(128, 10);
///     }
///
/// Blocks nest; the block stack belongs to the thread that entered it, while torch's generators are
/// process-wide (as with torch::manual_seed). A Block must be destroyed on the thread that created
/// it, innermost first, which a scope guarantees; otherwise its destructor warns and closes it
/// (on its own thread, which drops it at its next call into rb). Throws rb::Error before
/// rb::set_seed or while a CUDA graph is being captured.
///
/// Entering the key of a block entered from another call site warns (rb::set_reuse_policy); the
/// last argument, defaulted, is the call site (rb::Site).
///
/// A block is replicated (the same on every rank of a distributed job) unless it is given
/// rb::Ranks::distinct: then its key, and so every stream it installs, is folded with this
/// process's rank (rb::set_rank; rb::Error before it). See Note [Ranks and paths].
///
///     rb::Block init(rb::path("model"));                         // equal weights on every rank
///     rb::Block drop(rb::path("dropout", step), rb::Ranks::distinct);  // a mask per rank
class Block {
 public:
  explicit Block(std::uint64_t block_seed, OnExit on_exit = OnExit::keep,
                 Engine engine = default_engine(), Site site = {});
  /// A block of `ranks`, kept on exit, with the thread's default engine.
  Block(std::uint64_t block_seed, Ranks ranks, Site site = {});
  /// A block with every choice explicit.
  Block(std::uint64_t block_seed, OnExit on_exit, Engine engine, Ranks ranks, Site site = {});
  /// Leaves the block (restoring on-entry states under OnExit::restore). Never throws: if leaving
  /// is refused (a CUDA graph is being captured, blocks entered after it are still open, or this is
  /// not its thread), it warns and closes the block, leaving torch's generators as they are.
  ~Block() noexcept;

  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  Block(Block&&) = delete;
  Block& operator=(Block&&) = delete;

  std::uint64_t block_seed() const noexcept { return block_seed_; }
  Key key() const noexcept { return key_; }
  OnExit on_exit() const noexcept { return on_exit_; }
  Engine engine() const noexcept { return engine_; }
  Ranks ranks() const noexcept { return ranks_; }

 private:
  std::uint64_t block_seed_;
  Key key_;
  OnExit on_exit_;
  Engine engine_;
  Ranks ranks_;
  std::uint64_t frame_id_;
};

/// Runs `f()` inside `Block(block_seed)` and returns what it returns: the decorator of the Python
/// package. `with_block(s, f)` draws exactly what `{ Block b(s); f(); }` draws.
///
///     auto net = rb::with_block(44, [] { return torch::nn::Linear(128, 10); });
template <class F>
decltype(auto) with_block(std::uint64_t block_seed, F&& f, Site site = {}) {
  Block block(block_seed, OnExit::keep, default_engine(), site);
  return std::forward<F>(f)();
}

/// with_block with an explicit exit mode and engine.
template <class F>
decltype(auto) with_block(std::uint64_t block_seed, OnExit on_exit, Engine engine, F&& f,
                          Site site = {}) {
  Block block(block_seed, on_exit, engine, site);
  return std::forward<F>(f)();
}

/// with_block of a replicated or distinct block (see Block).
///
///     auto y = rb::with_block(rb::path("dropout", step), rb::Ranks::distinct,
///                             [&] { return dropout(x); });
template <class F>
decltype(auto) with_block(std::uint64_t block_seed, Ranks ranks, F&& f, Site site = {}) {
  Block block(block_seed, ranks, site);
  return std::forward<F>(f)();
}

/// with_block with every choice explicit.
template <class F>
decltype(auto) with_block(std::uint64_t block_seed, OnExit on_exit, Engine engine, Ranks ranks,
                          F&& f, Site site = {}) {
  Block block(block_seed, on_exit, engine, ranks, site);
  return std::forward<F>(f)();
}

/// Reserves `n_counters` consecutive outputs of the rb stream of this thread's innermost block (of
/// block 0 outside blocks) for a kernel, and advances that stream past them. Consecutive
/// reservations never overlap, and the whole sequence repeats under the same seeds. Throws
/// rb::Error before rb::set_seed or while a CUDA graph is being captured (a captured launch would
/// replay the same numbers).
///
///     rb::Stream s = rb::reserve((n + 3) / 4);  // 4 words per counter
///     my_kernel<<<grid, block>>>(s, out, n);    // out[i] from s.draw(i / 4).v[i % 4]
Stream reserve(std::uint64_t n_counters);

/// What a worker thread needs to continue the calling thread's innermost block (block 0 outside
/// blocks): its seeds, key and engine. Trivially copyable; capture it, then enter a WorkerBlock in
/// the worker.
struct BlockContext {
  std::uint64_t block_seed;
  Key key;
  Engine engine;
};

/// The calling thread's innermost block, to hand to a worker thread. Throws rb::Error before
/// rb::set_seed.
BlockContext current_context();

/// Continues a block in a worker thread the program starts: while it lives, the worker's
/// generator-less random ops route per the block's engine, and its rb stream (philox engine,
/// rb::reserve) is the block's key on sub-stream `worker + 1` (c3 of Note [Counter layout]), so
/// each worker draws its own reproducible numbers, whatever the thread timing. torch's generators
/// are left alone (they are process-wide). Worker indices are the program's: give each worker its
/// own, in 0 .. 2^32 - 2.
///
///     const rb::BlockContext ctx = rb::current_context();
///     std::thread t([ctx] {
///       rb::WorkerBlock worker(ctx, 0);
///       auto noise = torch::randn({256});  // block's key, sub-stream 1
///     });
class WorkerBlock {
 public:
  WorkerBlock(const BlockContext& context, std::uint32_t worker, Site site = {});
  ~WorkerBlock() noexcept;
  WorkerBlock(const WorkerBlock&) = delete;
  WorkerBlock& operator=(const WorkerBlock&) = delete;
  WorkerBlock(WorkerBlock&&) = delete;
  WorkerBlock& operator=(WorkerBlock&&) = delete;

 private:
  std::uint64_t frame_id_;
};

namespace detail {

/// The rb stream of the calling thread's innermost block (block 0's outside blocks) at its current
/// position, which then advances by `n_counters`: what rb::reserve and philox-engine ops draw.
/// Throws rb::Error before set_seed.
Stream take_active_stream(std::uint64_t n_counters);

/// The engine of the calling thread's innermost block (its default engine outside blocks).
Engine active_engine() noexcept;

/// Enters a block on the calling thread from `site` and returns its frame id (what Block does). A
/// distinct block takes the rank of rb::set_rank (rb::Error before it).
std::uint64_t enter_block(std::uint64_t block_seed, OnExit on_exit, Engine engine,
                          Ranks ranks = Ranks::replicated, Site site = {});

/// What rblock needs beyond Block: an explicit rank (a process group's, which need not be the
/// process's rank) and blocks that leave torch's generators alone.
struct EntryOptions {
  std::optional<std::uint32_t> rank;  ///< distinct on this rank; replicated without one
  bool install_torch = true;          ///< false: torch's CPU and CUDA generators are left alone
  Site site{nullptr, 0};              ///< where it is entered; unknown: never a reuse
  ReuseReporter reporter;             ///< how a reuse is reported (default: TORCH_WARN, rb::Error)
  std::string trace_path;             ///< its path's parts as a JSON array, for the trace, or empty
};
/// enter_block with explicit options.
std::uint64_t enter_block(std::uint64_t block_seed, OnExit on_exit, Engine engine,
                          const EntryOptions& options);
/// Enters a WorkerBlock on the calling thread and returns its frame id (what WorkerBlock does;
/// exit_block leaves it).
std::uint64_t enter_worker_block(const BlockContext& context, std::uint32_t worker, Site site = {});

/// One open block of the calling thread, as rblock.check_consistent compares them across ranks.
struct OpenBlock {
  std::uint64_t block_seed;
  Ranks ranks;
};
/// The calling thread's open blocks, outermost first.
std::vector<OpenBlock> open_blocks();
/// Leaves the block `frame_id`, which must be the calling thread's innermost. Throws rb::Error,
/// changing nothing, when it is not, or while a CUDA graph is being captured.
void exit_block(std::uint64_t frame_id);
/// Closes the calling thread's block `frame_id` wherever it is in the stack, leaving torch's
/// generators as they are (what ~Block does when leaving is refused); false if it is not open on
/// this thread.
bool close_block(std::uint64_t frame_id) noexcept;
/// The calling thread's block depth (0 outside blocks).
std::size_t block_depth() noexcept;
/// active_engine() and whether the calling thread's innermost block is a WorkerBlock, from one look
/// at its blocks (what every random op asks).
struct ThreadEngine {
  Engine engine;
  bool worker;
};
ThreadEngine thread_engine() noexcept;

}  // namespace detail

}  // namespace rb
