// rb::set_seed, rb::Block and the per-thread block stack.
#include "rb/block.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <c10/util/Exception.h>

#include "audit.hpp"
#include "engine.hpp"
#include "state.hpp"
#include "stream_end.hpp"
#include "torch_state.hpp"

namespace rb {
namespace {

// The process-wide seed. `generation` counts set_seed calls, so that each thread notices a new
// seed and restarts its rb stream outside blocks.
std::atomic<bool> g_seeded{false};
std::atomic<std::uint64_t> g_initial_seed{0};
std::atomic<std::uint64_t> g_generation{0};
// Frame ids are unique in the process, so a frame is never mistaken for another thread's.
std::atomic<std::uint64_t> g_next_frame_id{1};

// One open block on the calling thread: what rb::State records of it, its frame id, and what the
// trace says of it (Note [Trace format]).
struct Frame : detail::FrameRecord {
  std::uint64_t id = 0;
  Site site{nullptr, 0};
  std::uint64_t drawn = 0;  // rb stream outputs claimed while it is the innermost block
  std::string trace_path;
};

// What each thread owns: its block stack, its default engine, and its rb stream outside blocks
// (block 0's, restarted whenever set_seed is called).
struct ThreadState {
  std::vector<Frame> frames;
  Engine default_engine = Engine::torch;
  std::uint64_t root_generation = 0;  // 0: never set up on this thread
  Key root_key{};
  std::uint64_t root_position = 0;
  std::uint64_t abandoned_seen = 0;  // g_abandoned_posts when this thread last looked
};

// Note [Blocks left on another thread]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A Block or WorkerBlock destroyed on a thread that did not enter it cannot reach its frame: each
// thread's block stack is its own. Its destructor warns there and posts the frame id here; the
// thread that owns the frame drops it (leaving torch's generators as they are) the next time it
// calls into rb, before anything else, so a misuse never leaves a block open for good. Frame ids
// are unique in the process, so an id posted after its thread ended never matches another frame.
std::mutex g_abandoned_mutex;
std::vector<std::uint64_t> g_abandoned;            // frame ids, guarded by g_abandoned_mutex
std::atomic<std::uint64_t> g_abandoned_posts{0};  // how many were ever posted

void drop_abandoned(ThreadState& ts) noexcept;

ThreadState& thread_state() {
  thread_local ThreadState state;
  if (state.abandoned_seen != g_abandoned_posts.load(std::memory_order_acquire))
    drop_abandoned(state);
  return state;
}

std::uint64_t seeded_initial_seed(const char* what) {
  if (!g_seeded.load(std::memory_order_acquire)) {
    throw Error(std::string("rb: ") + what +
                " before rb::set_seed: call rb::set_seed(initial_seed) once at the start of the "
                "program, before any block.");
  }
  return g_initial_seed.load(std::memory_order_relaxed);
}

// The initial seed, for entering block `block_seed` (the message is built only when it is missing:
// this runs on every block entry).
std::uint64_t seed_for_block(std::uint64_t block_seed) {
  if (g_seeded.load(std::memory_order_acquire)) {
    return g_initial_seed.load(std::memory_order_relaxed);
  }
  return seeded_initial_seed(("rb::Block(" + std::to_string(block_seed) + ") entered").c_str());
}

// The calling thread's stream outside blocks, restarted after each set_seed.
void sync_root(ThreadState& ts) {
  const std::uint64_t generation = g_generation.load(std::memory_order_acquire);
  if (ts.root_generation != generation) {
    ts.root_generation = generation;
    ts.root_key = derive_key(g_initial_seed.load(std::memory_order_relaxed), 0);
    ts.root_position = 0;
  }
}

Engine active_engine(const ThreadState& ts) {
  return ts.frames.empty() ? ts.default_engine : ts.frames.back().engine;
}

// Writes the trace line of `frame`, the innermost of `ts`, which is being left.
void trace_leaving(const ThreadState& ts, const Frame& frame) noexcept {
  detail::trace_exit(frame, {frame.site, ts.frames.size(), frame.drawn, &frame.trace_path});
}

std::vector<Frame>::iterator find_frame(ThreadState& ts, std::uint64_t id) {
  return std::find_if(ts.frames.begin(), ts.frames.end(),
                      [id](const Frame& f) { return f.id == id; });
}

// Marks torch's CPU state for the engine that is active again after a block was closed without
// leaving it (Note [Engine mark]). Called from destructors: nothing may escape.
void remark_quietly(Engine engine) noexcept {
  try {
    detail::remark_cpu_state(engine);
  } catch (...) {  // the state keeps the closed block's mark: its ops keep that engine
  }
}

// Removes `frame` from the stack without leaving it; true if torch's CPU state then needs a new
// engine mark (the frame was the innermost and had installed its state).
bool erase_frame(ThreadState& ts, std::vector<Frame>::iterator frame) noexcept {
  const bool remark = frame + 1 == ts.frames.end() && frame->installs;
  ts.frames.erase(frame);
  return remark;
}

void drop_abandoned(ThreadState& ts) noexcept {
  std::lock_guard<std::mutex> lock(g_abandoned_mutex);
  ts.abandoned_seen = g_abandoned_posts.load(std::memory_order_relaxed);
  bool remark = false;  // an innermost block that installed torch's state is closed
  for (auto id = g_abandoned.begin(); id != g_abandoned.end();) {
    const auto frame = find_frame(ts, *id);
    if (frame == ts.frames.end()) {
      ++id;
      continue;
    }
    remark = erase_frame(ts, frame) || remark;
    id = g_abandoned.erase(id);
  }
  if (remark) remark_quietly(active_engine(ts));
}

// Warns from a destructor that the block it names is closed although leaving it was refused.
template <class... Name>
void warn_closed(const char* why, const Name&... block) noexcept {
  try {
    TORCH_WARN(why, " ", block..., " is closed without changing torch's generators.");
  } catch (...) {  // a warning handler that throws must not escape a destructor
  }
}

// What ~Block and ~WorkerBlock do when leaving is refused: close the frame on this thread if it is
// open here, else hand it to the thread that owns it (Note [Blocks left on another thread]).
void close_or_abandon(std::uint64_t id) noexcept {
  if (detail::close_block(id)) return;
  try {
    std::lock_guard<std::mutex> lock(g_abandoned_mutex);
    g_abandoned.push_back(id);
    g_abandoned_posts.fetch_add(1, std::memory_order_release);
  } catch (...) {  // out of memory: the block stays open on its thread, as before the warning said
  }
}

}  // namespace

void set_seed(std::uint64_t initial_seed) {
  ThreadState& ts = thread_state();
  if (!ts.frames.empty()) {
    throw Error("rb::set_seed(" + std::to_string(initial_seed) + ") called inside block " +
                std::to_string(ts.frames.back().block_seed) +
                ": set the seed once, at the start of the program, outside every block.");
  }
  detail::check_not_capturing("call rb::set_seed");
  detail::start_trace_from_environment(initial_seed);
  detail::install_torch_state(derive_key(initial_seed, 0), ts.default_engine);
  detail::forget_reuse();
  g_initial_seed.store(initial_seed, std::memory_order_relaxed);
  g_generation.fetch_add(1, std::memory_order_acq_rel);
  g_seeded.store(true, std::memory_order_release);
  sync_root(ts);
  detail::enable_routing();
}

std::uint64_t initial_seed() { return seeded_initial_seed("rb::initial_seed() called"); }

void reset_to_reference_state() {
  const std::uint64_t seed = seeded_initial_seed("rb::reset_to_reference_state() called");
  detail::check_not_capturing("reset to the reference state");
  ThreadState& ts = thread_state();
  detail::install_torch_state(derive_key(seed, 0), active_engine(ts));
  detail::enable_routing();
  sync_root(ts);
  ts.root_position = 0;
}

void set_default_engine(Engine engine) {
  ThreadState& ts = thread_state();
  ts.default_engine = engine;
  detail::enable_routing();
  if (ts.frames.empty()) detail::remark_cpu_state(engine);
}

Engine default_engine() { return thread_state().default_engine; }

Block::Block(std::uint64_t block_seed, OnExit on_exit, Engine engine, Site site)
    : Block(block_seed, on_exit, engine, Ranks::replicated, site) {}

Block::Block(std::uint64_t block_seed, Ranks ranks, Site site)
    : Block(block_seed, OnExit::keep, default_engine(), ranks, site) {}

Block::Block(std::uint64_t block_seed, OnExit on_exit, Engine engine, Ranks ranks, Site site)
    : block_seed_(block_seed), on_exit_(on_exit), engine_(engine), ranks_(ranks) {
  frame_id_ = detail::enter_block(block_seed, on_exit, engine, ranks, site);
  key_ = thread_state().frames.back().key;
}

Block::~Block() noexcept {
  try {
    detail::exit_block(frame_id_);
    return;
  } catch (const std::exception& e) {
    warn_closed(e.what(), "Block ", block_seed_);
  }
  close_or_abandon(frame_id_);  // leaving was refused: close the frame anyway, its Block is gone
}

BlockContext current_context() {
  const std::uint64_t seed = seeded_initial_seed("rb::current_context() called");
  ThreadState& ts = thread_state();
  if (ts.frames.empty()) return BlockContext{0, derive_key(seed, 0), ts.default_engine};
  const Frame& top = ts.frames.back();
  return BlockContext{top.block_seed, top.key, top.engine};
}

WorkerBlock::WorkerBlock(const BlockContext& context, std::uint32_t worker, Site site)
    : frame_id_(detail::enter_worker_block(context, worker, site)) {}

namespace detail {

std::uint64_t enter_worker_block(const BlockContext& context, std::uint32_t worker, Site site) {
  if (worker == ~std::uint32_t{0}) {
    throw Error("rb::WorkerBlock: worker index 2^32 - 1 is reserved; use 0 .. 2^32 - 2.");
  }
  ThreadState& ts = thread_state();
  ts.frames.reserve(ts.frames.size() + 1);
  Frame frame;
  frame.id = g_next_frame_id.fetch_add(1, std::memory_order_relaxed);
  frame.block_seed = context.block_seed;
  frame.key = context.key;
  frame.on_exit = OnExit::keep;
  frame.engine = context.engine;
  frame.substream = worker + 1;
  frame.installs = false;
  frame.worker = true;
  frame.position = 0;
  frame.site = site;
  ts.frames.push_back(std::move(frame));
  enable_routing();
  return ts.frames.back().id;
}

}  // namespace detail

WorkerBlock::~WorkerBlock() noexcept {
  try {
    detail::exit_block(frame_id_);
    return;
  } catch (const std::exception& e) {
    warn_closed(e.what(), "The worker block");
  }
  close_or_abandon(frame_id_);
}

Stream reserve(std::uint64_t n_counters) {
  detail::check_not_capturing("reserve an rb stream");
  return detail::take_active_stream(n_counters);
}

namespace detail {

Stream take_active_stream(std::uint64_t n_counters) {
  seeded_initial_seed("drawing from an rb stream");
  ThreadState& ts = thread_state();
  Stream stream;
  if (!ts.frames.empty()) {
    Frame& top = ts.frames.back();
    stream = make_stream(top.key, Domain::rb_stream, top.substream);
    stream.base = top.position;
    top.position = advanced(top.position, n_counters, "the rb stream of block", top.block_seed);
    top.drawn += n_counters;
  } else {
    sync_root(ts);
    stream = make_stream(ts.root_key, Domain::rb_stream);
    stream.base = ts.root_position;
    ts.root_position =
        advanced(ts.root_position, n_counters, "the rb stream outside blocks, of block", 0);
  }
  return stream;
}

std::uint64_t enter_block(std::uint64_t block_seed, OnExit on_exit, Engine engine, Ranks ranks,
                          Site site) {
  EntryOptions options;
  options.site = site;
  if (ranks == Ranks::distinct) {
    seed_for_block(block_seed);
    const std::optional<RankInfo> known = known_rank();
    if (!known) {
      throw Error("rb::Block(" + std::to_string(block_seed) +
                  ", rb::Ranks::distinct) entered before rb::set_rank: call "
                  "rb::set_rank(rank, world_size) once in each process of the job first (torchrun "
                  "sets RANK and WORLD_SIZE in the environment).");
    }
    options.rank = known->rank;
  }
  return enter_block(block_seed, on_exit, engine, options);
}

std::uint64_t enter_block(std::uint64_t block_seed, OnExit on_exit, Engine engine,
                          const EntryOptions& options) {
  const std::uint64_t seed = seed_for_block(block_seed);
  if (options.install_torch) check_not_capturing("enter a block");
  ThreadState& ts = thread_state();
  ts.frames.reserve(ts.frames.size() + 1);  // the only allocation, before anything changes

  Frame frame;
  frame.id = g_next_frame_id.fetch_add(1, std::memory_order_relaxed);
  frame.block_seed = block_seed;
  frame.key = derive_key(seed, block_seed);
  if (options.rank) frame.key = rank_key(frame.key, *options.rank);  // Note [Ranks and paths]
  check_reuse(frame.key, block_seed, options.site, options.reporter);  // the last check
  frame.rank = options.rank;
  frame.on_exit = on_exit;
  frame.engine = engine;
  frame.substream = 0;
  frame.installs = options.install_torch;
  frame.worker = false;
  frame.position = 0;
  frame.site = options.site;
  if (tracing_now()) frame.trace_path = options.trace_path;
  if (frame.installs) {
    if (on_exit == OnExit::restore) frame.saved = snapshot_torch_state();
    install_torch_state(frame.key, engine);
  }
  ts.frames.push_back(std::move(frame));
  enable_routing();
  return ts.frames.back().id;
}

void exit_block(std::uint64_t frame_id) {
  ThreadState& ts = thread_state();
  if (ts.frames.empty() || ts.frames.back().id != frame_id) {
    for (const Frame& f : ts.frames) {
      if (f.id == frame_id) {
        throw Error("rb: leaving block " + std::to_string(f.block_seed) + " while block " +
                    std::to_string(ts.frames.back().block_seed) +
                    ", entered after it, is still open: leave blocks in the reverse order of "
                    "entering them.");
      }
    }
    throw Error(
        "rb: leaving a block that is not open on this thread: a block must be left on the "
        "thread that entered it, once.");
  }
  Frame& top = ts.frames.back();
  if (top.installs) check_not_capturing("leave a block");
  if (tracing_now()) trace_leaving(ts, top);
  const bool installs = top.installs;
  if (top.saved) restore_torch_state(*top.saved);
  ts.frames.pop_back();
  // torch's state goes on (or is back), marked for the engine that is active again.
  if (installs) remark_cpu_state(active_engine(ts));
}

bool close_block(std::uint64_t frame_id) noexcept {
  ThreadState& ts = thread_state();
  const auto frame = find_frame(ts, frame_id);
  if (frame == ts.frames.end()) return false;
  if (erase_frame(ts, frame)) remark_quietly(rb::active_engine(ts));
  return true;
}

std::size_t block_depth() noexcept { return thread_state().frames.size(); }

bool count_ticket_draw(std::uint64_t n_counters) noexcept {
  ThreadState& ts = thread_state();
  if (ts.frames.empty()) return true;
  Frame& top = ts.frames.back();
  if (top.worker) return false;
  top.drawn += n_counters;
  return true;
}

ThreadRecord record_thread(const char* what) {
  seeded_initial_seed(what);
  ThreadState& ts = thread_state();
  sync_root(ts);
  ThreadRecord record{ts.default_engine, ts.root_position, {}};
  record.frames.assign(ts.frames.begin(), ts.frames.end());  // slices each Frame to its record
  return record;
}

void restore_thread(const ThreadRecord& record) noexcept {
  ThreadState& ts = thread_state();
  sync_root(ts);
  ts.root_position = record.root_position;
  for (std::size_t i = 0; i < ts.frames.size() && i < record.frames.size(); ++i) {
    ts.frames[i].position = record.frames[i].position;
    ts.frames[i].saved = record.frames[i].saved;
  }
}

ThreadEngine thread_engine() noexcept {
  const ThreadState& ts = thread_state();
  return {rb::active_engine(ts), !ts.frames.empty() && ts.frames.back().worker};
}

std::vector<OpenBlock> open_blocks() {
  std::vector<OpenBlock> out;
  for (const Frame& f : thread_state().frames) {
    out.push_back({f.block_seed, f.rank ? Ranks::distinct : Ranks::replicated});
  }
  return out;
}

Engine active_engine() noexcept { return rb::active_engine(thread_state()); }

}  // namespace detail
}  // namespace rb
