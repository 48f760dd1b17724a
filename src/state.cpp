// rb::save_state and rb::load_state: everything rb controls as versioned bytes, checked before
// anything is loaded.
#include "rb/state.hpp"

#include <cstring>
#include <string>

#include "rb/ranks.hpp"
#include "rb/stream.hpp"
#include "state.hpp"
#include "torch_state.hpp"

namespace rb {
namespace detail {
namespace {

// Note [State bytes]
// ~~~~~~~~~~~~~~~~~~
// rb::State::bytes, every field little-endian:
//
//   u32 magic "rbS1" (0x31536272)   u32 format version (1)   u32 rb::kStreamVersion
//   u64 initial seed                u32 rank, u32 world size (0xffffffff, 0: none set)
//   u8  default engine of the saving thread (0 torch, 1 philox)
//   u64 position of the thread's rb stream outside blocks
//   snapshot: torch's generators now
//   u32 number of open blocks, then for each, outermost first:
//       u64 block seed, u64 key, u8 engine, u8 on_exit (0 keep, 1 restore), u8 flags (1: a
//       WorkerBlock, 2: installed torch's generators), u32 rank of a distinct block (0xffffffff:
//       replicated), u32 sub-stream, u64 rb-stream position, u8 has on-entry state, [snapshot]
//   u64 checksum: FNV-1a (64-bit) of every byte before it
//
// A snapshot is torch's CPU generator (u64 seed field, i32 left, u8 seeded, u32 next, u32 x 624
// Mersenne Twister words, u8 + f32 cached float normal, u8 + f64 cached double normal) and
// u32 CUDA devices, each u64 seed, u64 offset. load_state reads and checks everything, then
// changes torch's generators and the thread's blocks in one go.

constexpr std::uint32_t kMagic = 0x31536272u;  // "rbS1" in little-endian byte order
constexpr std::uint32_t kFormat = 1;
constexpr std::uint32_t kNoRank = 0xffffffffu;
constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;  // FNV-1a 64-bit offset basis
constexpr std::uint64_t kFnvPrime = 1099511628211ull;          // FNV-1a 64-bit prime

std::uint64_t fnv1a(const std::uint8_t* data, std::size_t n) {
  std::uint64_t h = kFnvOffset;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ data[i]) * kFnvPrime;
  return h;
}

class Writer {
 public:
  template <class T>
  void put(T value) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &value, sizeof(T));  // rb supports little-endian hosts only
  }
  void snapshot(const TorchSnapshot& s) {
    const at::mt19937_data_pod pod = s.cpu_engine.data();
    put(pod.seed_);
    put<std::int32_t>(pod.left_);
    put<std::uint8_t>(pod.seeded_);
    put(pod.next_);
    for (std::uint32_t w : pod.state_) put(w);
    put<std::uint8_t>(s.cpu_next_float_normal.has_value());
    put(s.cpu_next_float_normal.value_or(0.0f));
    put<std::uint8_t>(s.cpu_next_double_normal.has_value());
    put(s.cpu_next_double_normal.value_or(0.0));
    put(static_cast<std::uint32_t>(s.cuda.size()));
    for (const CudaGeneratorState& c : s.cuda) {
      put(c.seed);
      put(c.offset);
    }
  }
  std::vector<std::uint8_t> finish() {
    put(fnv1a(bytes_.data(), bytes_.size()));
    return std::move(bytes_);
  }

 private:
  std::vector<std::uint8_t> bytes_;
};

[[noreturn]] void refuse(const std::string& what) {
  throw Error("rb::load_state: " + what + " Nothing was loaded.");
}

class Reader {
 public:
  explicit Reader(const std::vector<std::uint8_t>& bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    if (bytes_.size() - at_ < sizeof(T)) {
      refuse("the state is truncated (" + std::to_string(bytes_.size()) + " bytes): pass all the bytes "
             "rb::save_state returned.");
    }
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  TorchSnapshot snapshot() {
    at::mt19937_data_pod pod;
    pod.seed_ = get<std::uint64_t>();
    pod.left_ = get<std::int32_t>();
    pod.seeded_ = get<std::uint8_t>() != 0;
    pod.next_ = get<std::uint32_t>();
    for (std::uint32_t& w : pod.state_) w = get<std::uint32_t>();
    TorchSnapshot s;
    s.cpu_engine.set_data(pod);
    if (!s.cpu_engine.is_valid()) refuse("the saved Mersenne Twister state is invalid: the bytes are corrupted.");
    const bool has_float = get<std::uint8_t>() != 0;
    const float next_float = get<float>();
    const bool has_double = get<std::uint8_t>() != 0;
    const double next_double = get<double>();
    if (has_float) s.cpu_next_float_normal = next_float;
    if (has_double) s.cpu_next_double_normal = next_double;
    const auto devices = get<std::uint32_t>();
    if (devices != static_cast<std::uint32_t>(cuda_device_count())) {
      refuse("the state holds " + std::to_string(devices) + " CUDA devices' generators, this process has " +
             std::to_string(cuda_device_count()) + ": resume with the same visible devices.");
    }
    for (std::uint32_t d = 0; d < devices; ++d) {
      const auto seed = get<std::uint64_t>();
      s.cuda.push_back({seed, get<std::uint64_t>()});
    }
    return s;
  }
  std::size_t position() const { return at_; }

 private:
  const std::vector<std::uint8_t>& bytes_;
  std::size_t at_ = 0;
};

const char* name(Engine e) { return e == Engine::philox ? "philox" : "torch"; }

/// (rank, world size) of this process (rb::set_rank), (kNoRank, 0) when none is set.
std::pair<std::uint32_t, std::uint32_t> current_rank() {
  const std::optional<RankInfo> known = known_rank();
  return known ? std::make_pair(known->rank, known->world_size) : std::make_pair(kNoRank, 0u);
}

std::string describe(const FrameRecord& f) {
  return std::string(f.worker ? "worker block " : "block ") + std::to_string(f.block_seed) + " (engine " +
         name(f.engine) + (f.on_exit == OnExit::restore ? ", restore" : "") +
         (f.rank ? ", distinct on rank " + std::to_string(*f.rank) : "") +
         (f.installs || f.worker ? "" : ", without torch's generators") + ")";
}

}  // namespace
}  // namespace detail

State save_state() {
  using namespace detail;
  const ThreadRecord thread = record_thread("rb::save_state() called");
  Writer w;
  w.put(kMagic);
  w.put(kFormat);
  w.put(kStreamVersion);
  w.put(initial_seed());
  const auto [rank, world] = current_rank();
  w.put(rank);
  w.put(world);
  w.put<std::uint8_t>(thread.default_engine == Engine::philox);
  w.put(thread.root_position);
  w.snapshot(snapshot_torch_state());
  w.put(static_cast<std::uint32_t>(thread.frames.size()));
  for (const FrameRecord& f : thread.frames) {
    w.put(f.block_seed);
    w.put(key_value(f.key));
    w.put<std::uint8_t>(f.engine == Engine::philox);
    w.put<std::uint8_t>(f.on_exit == OnExit::restore);
    w.put<std::uint8_t>((f.worker ? 1 : 0) | (f.installs ? 2 : 0));
    w.put(f.rank.value_or(kNoRank));
    w.put(f.substream);
    w.put(f.position);
    w.put<std::uint8_t>(f.saved.has_value());
    if (f.saved) w.snapshot(*f.saved);
  }
  return State{w.finish()};
}

void load_state(const State& state) {
  using namespace detail;
  const std::vector<std::uint8_t>& bytes = state.bytes;
  auto word_at = [&](std::size_t at, auto value) {
    std::memcpy(&value, bytes.data() + at, sizeof(value));
    return value;
  };
  if (bytes.size() < 12) refuse("the state is truncated (" + std::to_string(bytes.size()) + " bytes).");
  if (word_at(0, std::uint32_t{}) != kMagic) {
    refuse("these bytes are not an rb state (wrong magic): pass the bytes rb::save_state returned.");
  }
  if (fnv1a(bytes.data(), bytes.size() - 8) != word_at(bytes.size() - 8, std::uint64_t{})) {
    refuse("the checksum does not match: the state is truncated or corrupted.");
  }
  Reader r(bytes);
  r.get<std::uint32_t>();  // the magic, checked above
  if (const auto format = r.get<std::uint32_t>(); format != kFormat) {
    refuse("the state has format " + std::to_string(format) + "; this rb reads format " +
           std::to_string(kFormat) + ".");
  }
  if (const auto version = r.get<std::uint32_t>(); version != kStreamVersion) {
    refuse("the state was saved by rb with stream version " + std::to_string(version) + ", this rb has " +
           std::to_string(kStreamVersion) + ": its numbers differ, so the run cannot continue bit for bit.");
  }
  const ThreadRecord here = record_thread("rb::load_state() called");
  if (const auto seed = r.get<std::uint64_t>(); seed != initial_seed()) {
    refuse("the state was saved under initial seed " + std::to_string(seed) + ", rb is seeded with " +
           std::to_string(initial_seed()) + ": call rb::set_seed(" + std::to_string(seed) + ") first.");
  }
  const auto rank = r.get<std::uint32_t>(), world = r.get<std::uint32_t>();
  if (const auto [my_rank, my_world] = current_rank(); rank != my_rank || world != my_world) {
    auto text = [](std::uint32_t k, std::uint32_t n) {
      return k == kNoRank ? std::string("no rank") : "rank " + std::to_string(k) + " of " + std::to_string(n);
    };
    refuse("the state was saved on " + text(rank, world) + ", this process is " + text(my_rank, my_world) +
           ": load each rank's own state, with the same world size.");
  }
  const Engine default_engine = r.get<std::uint8_t>() ? Engine::philox : Engine::torch;
  if (default_engine != here.default_engine) {
    refuse(std::string("the state was saved with default engine ") + name(default_engine) +
           ": call rb::set_default_engine(rb::Engine::" + name(default_engine) + ") first.");
  }
  ThreadRecord loaded{default_engine, r.get<std::uint64_t>(), {}};
  const TorchSnapshot now = r.snapshot();
  const auto n_frames = r.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < n_frames; ++i) {
    FrameRecord f;
    f.block_seed = r.get<std::uint64_t>();
    f.key = make_key(r.get<std::uint64_t>());
    f.engine = r.get<std::uint8_t>() ? Engine::philox : Engine::torch;
    f.on_exit = r.get<std::uint8_t>() ? OnExit::restore : OnExit::keep;
    const auto flags = r.get<std::uint8_t>();
    f.worker = (flags & 1) != 0;
    f.installs = (flags & 2) != 0;
    if (const auto rank = r.get<std::uint32_t>(); rank != kNoRank) f.rank = rank;
    f.substream = r.get<std::uint32_t>();
    f.position = r.get<std::uint64_t>();
    if (r.get<std::uint8_t>()) f.saved = r.snapshot();
    loaded.frames.push_back(std::move(f));
  }
  if (r.position() != bytes.size() - 8) refuse("the state has unexpected bytes: it is corrupted.");

  auto list = [](const ThreadRecord& t) {
    std::string out;
    for (const FrameRecord& f : t.frames) out += (out.empty() ? "" : ", ") + describe(f);
    return out.empty() ? std::string("none") : out;
  };
  bool same = loaded.frames.size() == here.frames.size();
  for (std::size_t i = 0; same && i < loaded.frames.size(); ++i) {
    const FrameRecord &a = loaded.frames[i], &b = here.frames[i];
    same = a.block_seed == b.block_seed && a.key == b.key && a.engine == b.engine && a.on_exit == b.on_exit &&
           a.installs == b.installs && a.worker == b.worker && a.rank == b.rank && a.substream == b.substream;
  }
  if (!same) {
    refuse("the state was saved inside the blocks [" + list(loaded) + "], this thread has [" + list(here) +
           "] open: enter the same blocks (same seeds, engines, exit modes) before loading.");
  }
  check_not_capturing("load an rb state");
  restore_torch_state(now);
  restore_thread(loaded);
}

}  // namespace rb
