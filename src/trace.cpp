// rb's trace: one JSON line per block exit, written so that a crash loses at most the last line.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include <c10/util/Exception.h>

#include "audit.hpp"
#include "rb/ranks.hpp"
#include "torch_state.hpp"

namespace rb {
namespace detail {

// Note [Trace format]
// ~~~~~~~~~~~~~~~~~~~
// A trace is a file of JSON lines (format version kFormatVersion). The first line describes the
// environment: {"rb_trace": 1, "rb", "stream_version", "torch", "cuda_runtime", "cudnn" (torch's
// version numbers, null without CUDA), "gpus" (each device's model), "cpu_isa" (the instruction
// set rb's kernels run), "deterministic_algorithms", "cudnn_benchmark", "cudnn_deterministic",
// "PYTHONHASHSEED", "initial_seed", "rank", "world_size" (null when not known yet), and from Python
// "python" and "numpy"}. Every further line is one block, written when it exits:
//   "block"     its block seed;            "path"    its path's parts (Python only), or null
//   "key"       its key, in hex (derive_key, folded with the rank of a distinct block)
//   "site"      "file:line" where it was entered (Note [Block reuse]), or null
//   "depth"     1 for an outermost block;  "worker" a WorkerBlock's index, else null
//   "proc"      "main", or "main/k" in the k-th child the process forked (a DataLoader worker)
//   "thread"    0 for the thread that started the trace, then 1, 2, ... as threads first write
//   "rank"      the rank folded into its key (a distinct block), else null
//   "engine", "on_exit"   as entered
//   "drawn"     the rb stream outputs (128-bit counters) that philox-engine ops and rb::reserve
//               claimed while it was its thread's innermost block
//   "torch_cpu" the fingerprint of torch's CPU generator state at its exit (before a restoring
//               block restores), "cuda" each CUDA device's [seed, offset] then; both null for a
//               block that did not install torch's generators (a WorkerBlock; generators=)
//   "random", "numpy"  (Python only) fingerprints of random's and NumPy's global states at exit.
// Lines of nested blocks come innermost first (the order of exits); each thread's lines are in its
// order, threads interleave. Each line is built in memory and written with one write() on a
// descriptor opened with O_APPEND: lines of several threads, and of forked children sharing the
// file, never interleave, and a crash loses at most the line being written. RB_TRACE=path starts
// the trace at the first rb::set_seed ("{rank}" in it becomes the RANK of the environment); the
// process that started it is its owner (RB_TRACE_OWNER in the environment), so processes it spawns
// do not truncate it (forked ones write to it). While no trace is written, a block exit pays one
// relaxed atomic load (tracing_now).

// Note [Trace fingerprints]
// ~~~~~~~~~~~~~~~~~~~~~~~~~
// A fingerprint is FNV-1a (64-bit offset basis and prime) over a state as a sequence of 64-bit
// words, two 32-bit state words per 64-bit word, low first; it is written as 16 hex digits. Two
// different states give the same fingerprint with probability about 2^-64. FNV over 64-bit words
// rather than bytes: 8 times fewer multiplications (a torch CPU state is 2.5 KB). The words are:
//   torch_cpu: seed, left, next, seeded (mt19937_data_pod, each widened to 64 bits), the 624 state
//              words, then per cached normal (float, double) 1 and its bits, or 0;
//   random:    index, the 624 words, then 1 and gauss_next's bits, or 0 (None);
//   numpy:     pos, the 624 words, has_gauss, the cached gaussian's bits.

std::atomic<bool> g_tracing{false};

namespace {

constexpr int kFormatVersion = 1;  // "rb_trace" of the first line; rblock.diff reads this one

struct Trace {
  // Held to write a line, to start, to stop and across fork. A plain mutex: glibc's rwlock cannot be
  // unlocked in a forked child (it checks the writer's thread id, which the child does not have),
  // and O_APPEND writes to one file are serialized by the kernel anyway.
  std::mutex mutex;
  int fd = -1;
  std::string path;
  std::string python_environment;  // set_trace_hooks
  std::atomic<void (*)(std::string&)> python_line{nullptr};
  std::uint64_t generation = 0;  // bumped by start_trace and in a forked child: threads renumber
  std::atomic<std::uint32_t> next_thread{0};
  std::string process = "main";
  std::uint32_t forks = 0;       // children forked so far
  std::uint32_t fork_index = 0;  // in a child: which one it is
};

struct ThreadNumber {
  std::uint64_t generation = ~std::uint64_t{0};
  std::uint32_t number = 0;
};
thread_local ThreadNumber t_number;

Trace& trace() {
  static Trace* const t = [] {
    auto* created = new Trace;  // never destroyed: blocks may exit while statics are destroyed
    pthread_atfork(
        [] {
          trace().mutex.lock();
          trace().fork_index = trace().forks++;
        },
        [] { trace().mutex.unlock(); },
        [] {
          Trace& c = trace();
          c.process += '/';
          c.process += std::to_string(c.fork_index);
          ++c.generation;
          t_number = {c.generation, 0};  // the forking thread is the child's only thread
          c.next_thread = 1;
          c.mutex.unlock();
        });
    return created;
  }();
  return *t;
}

// The calling thread's number in the current trace (under the trace's mutex).
std::uint32_t thread_number(Trace& t) {
  if (t_number.generation != t.generation) {
    t_number = {t.generation, t.next_thread.fetch_add(1, std::memory_order_relaxed)};
  }
  return t_number.number;
}

// One write() of all of `text` (again when a signal interrupted it before anything was written).
bool write_line(int fd, const std::string& text) {
  for (;;) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    return n == static_cast<ssize_t>(text.size());
  }
}

const char* engine_name(Engine e) { return e == Engine::philox ? "philox" : "torch"; }

void append_number_or_null(std::string& out, bool present, std::uint64_t value) {
  out += present ? std::to_string(value) : "null";
}

// Members of the line that need no lock: torch's fingerprints, Python's.
void append_states(std::string& out, const FrameRecord& frame) {
  if (!frame.installs || frame.worker) {
    out += ",\"torch_cpu\":null,\"cuda\":null";
  } else {
    const TorchSnapshot s = snapshot_torch_state();
    const at::mt19937_data_pod mt = s.cpu_engine.data();
    Fingerprint f;
    f.add(mt.seed_);
    f.add(static_cast<std::uint64_t>(static_cast<std::uint32_t>(mt.left_)));
    f.add(mt.next_);
    f.add(mt.seeded_ ? 1 : 0);
    f.add_words(mt.state_.data(), mt.state_.size());
    f.add(s.cpu_next_float_normal ? 1 : 0);
    if (s.cpu_next_float_normal) {
      std::uint32_t bits;
      std::memcpy(&bits, &*s.cpu_next_float_normal, sizeof bits);
      f.add(bits);
    }
    f.add(s.cpu_next_double_normal ? 1 : 0);
    if (s.cpu_next_double_normal) {
      std::uint64_t bits;
      std::memcpy(&bits, &*s.cpu_next_double_normal, sizeof bits);
      f.add(bits);
    }
    out += ",\"torch_cpu\":";
    append_hex(out, f.value());
    out += ",\"cuda\":[";
    for (std::size_t d = 0; d < s.cuda.size(); ++d) {
      out += d == 0 ? "[" : ",[";
      out += std::to_string(s.cuda[d].seed) + "," + std::to_string(s.cuda[d].offset) + "]";
    }
    out += "]";
  }
  if (auto* python = trace().python_line.load(std::memory_order_acquire)) python(out);
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {  // control characters as \u00XX; UTF-8 bytes pass as they are
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_hex(std::string& out, std::uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  char text[18];
  text[0] = text[17] = '"';
  for (int i = 16; i >= 1; --i, value >>= 4) text[i] = kHex[value & 15];
  out.append(text, sizeof text);
}

void trace_exit(const FrameRecord& frame, const TracedExit& exit) noexcept {
  try {
    thread_local std::string head, tail, line;
    head.clear();
    tail.clear();
    head += "{\"block\":" + std::to_string(frame.block_seed) + ",\"path\":";
    head += exit.path != nullptr && !exit.path->empty() ? *exit.path : std::string("null");
    head += ",\"key\":";
    append_hex(head, key_value(frame.key));
    head += ",\"site\":";
    if (exit.site.file != nullptr) {
      append_json_string(head, std::string(exit.site.file) + ":" + std::to_string(exit.site.line));
    } else {
      head += "null";
    }
    head += ",\"depth\":" + std::to_string(exit.depth);
    tail += ",\"rank\":";
    append_number_or_null(tail, frame.rank.has_value(), frame.rank.value_or(0));
    tail += std::string(",\"engine\":\"") + engine_name(frame.engine) + "\",\"on_exit\":\"" +
            (frame.on_exit == OnExit::restore ? "restore" : "keep") + "\",\"worker\":";
    append_number_or_null(tail, frame.worker, frame.substream - 1);
    tail += ",\"drawn\":" + std::to_string(exit.drawn);
    append_states(tail, frame);
    tail += "}\n";

    Trace& t = trace();
    std::string failed_path;
    int error = 0;
    {
      std::lock_guard<std::mutex> lock(t.mutex);
      if (t.fd < 0) return;  // stopped meanwhile
      line = head;
      line += ",\"proc\":";
      append_json_string(line, t.process);
      line += ",\"thread\":" + std::to_string(thread_number(t));
      line += tail;
      if (!write_line(t.fd, line)) {
        error = errno;
        failed_path = t.path;
      }
    }
    if (failed_path.empty()) return;
    stop_trace();
    TORCH_WARN("rb: writing the trace to ", failed_path, " failed (", std::strerror(error),
               "): the trace stops here, and its last line may be cut.");
  } catch (...) {  // a trace must never break a block's exit
  }
}

void set_trace_hooks(std::string environment, void (*line)(std::string& out)) {
  Trace& t = trace();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.python_environment = std::move(environment);
  t.python_line.store(line, std::memory_order_release);
}

void start_trace_from_environment(std::uint64_t initial_seed) {
  static std::atomic<bool> done{false};
  if (done.load(std::memory_order_acquire)) return;
  const char* requested = std::getenv("RB_TRACE");
  const char* owner = std::getenv("RB_TRACE_OWNER");
  const std::string pid = std::to_string(::getpid());
  if (requested == nullptr || *requested == '\0' || (owner != nullptr && pid != owner) ||
      tracing()) {
    done.store(true, std::memory_order_release);
    return;
  }
  std::string path = requested;
  const char* rank = std::getenv("RANK");
  const char* world = std::getenv("WORLD_SIZE");
  const std::size_t at = path.find("{rank}");
  if (at != std::string::npos) {
    const std::optional<RankInfo> known = known_rank();
    path.replace(at, 6, rank != nullptr ? std::string(rank)
                                        : std::to_string(known ? known->rank : 0u));
  } else if (rank != nullptr && world != nullptr && std::atoi(world) > 1) {
    throw Error("rb: RB_TRACE=" + path + " in a job of " + world +
                " processes: they would all write that file. Put {rank} in the name "
                "(RB_TRACE=run.{rank}.jsonl) to give each rank its own.");
  }
  open_trace(path, initial_seed);
  ::setenv("RB_TRACE_OWNER", pid.c_str(), 1);
  done.store(true, std::memory_order_release);
}

void open_trace(const std::string& path, std::optional<std::uint64_t> initial_seed) {
  Trace& t = trace();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (t.fd >= 0) {
    throw Error("rb::start_trace(\"" + path + "\"): a trace is already being written to " + t.path +
                ": call rb::stop_trace() first.");
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error("rb::start_trace: cannot create \"" + path + "\" (" + std::strerror(errno) +
                "): give a path in a directory you can write.");
  }
  std::string header = "{\"rb_trace\":" + std::to_string(kFormatVersion) + "," +
                       environment_members(initial_seed) +
                       (t.python_environment.empty() ? "" : ",") + t.python_environment + "}\n";
  if (!write_line(fd, header)) {
    const int error = errno;
    ::close(fd);
    throw Error("rb::start_trace: cannot write to \"" + path + "\" (" + std::strerror(error) + ").");
  }
  t.fd = fd;
  t.path = path;
  t.process = "main";
  ++t.generation;
  t_number = {t.generation, 0};  // the thread that starts the trace is thread 0
  t.next_thread = 1;
  g_tracing.store(true, std::memory_order_relaxed);
}

}  // namespace detail

void start_trace(const std::string& path) {
  std::optional<std::uint64_t> seed;
  try {
    seed = initial_seed();
  } catch (const Error&) {  // not seeded yet: the first line says null
  }
  detail::open_trace(path, seed);
}

void stop_trace() noexcept {
  detail::Trace& t = detail::trace();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (t.fd >= 0) ::close(t.fd);
  t.fd = -1;
  detail::g_tracing.store(false, std::memory_order_relaxed);
}

bool tracing() noexcept { return detail::tracing_now(); }

}  // namespace rb
