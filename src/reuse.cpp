// Blocks entered from two call sites: rb::set_reuse_policy and the bounded table of keys seen.
#include <pthread.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include <c10/util/Exception.h>

#include "audit.hpp"

namespace rb {
namespace detail {

// Note [Block reuse]
// ~~~~~~~~~~~~~~~~~~
// Two blocks with the same key draw the same numbers: a block seed copied to a second place in the
// code gives that place the first one's initial weights, masks or augmentations. A block is known
// by its key (derive_key of the initial seed and block seed, folded with the rank of a distinct
// block), so paths and per-rank blocks are covered alike; a place by its call site, file and line:
// C++ by rb::Site's defaulted arguments (__builtin_FILE / __builtin_LINE, what
// std::source_location::current() does, also in C++17), Python by the frame that runs the `with`
// statement (rblock's own frames skipped) or, for a decorated function, the line that decorates it,
// so that a function called every epoch is one place. Entering a key from the place that entered it
// first is normal and silent; from another place it is a reuse, reported once per pair of places
// (the first place, the new one), or refused under Reuse::error before anything changes.
// WorkerBlocks continue a block and are never a reuse; a site of nullptr is never checked.
//
// Memory stays bounded whatever the number of blocks (a per-sample block for millions of samples):
// the keys seen live in a fixed table of kSets sets of kWays slots (64 Ki keys, 1.5 MiB, allocated
// at the first checked entry). A key's set is its low kSetBits bits (keys are Philox outputs, so
// uniform); a key missing from its set replaces the slot entered least recently. A reuse is
// therefore missed when its key was pushed out between the two entries (after about 4 more keys
// in its set, some 64 Ki more keys in all), and never reported falsely: a slot holds a whole key
// and its site. The pairs reported are kept in full: they are pairs of places in the code.
// rb::set_seed forgets everything (a new seed starts a new run). One mutex guards the table; an
// entry that reuses nothing costs a lock, one cache line of four slots and a comparison (bench:
// EnterExit/rb_keep against EnterExit/rb_keep_reuse_allow).

namespace {

constexpr int kSetBits = 14;                           // 16 Ki sets
constexpr std::size_t kSets = std::size_t{1} << kSetBits;
constexpr std::size_t kWays = 4;                       // 4 slots of 24 bytes: about a cache line

struct Slot {
  std::uint64_t key;
  const char* file;
  std::uint32_t line;
  std::uint32_t tick;  // the table's tick when last entered; 0: empty
};

// A reported pair of places (first, then second), by file name and line.
using Pair = std::tuple<std::string, std::uint32_t, std::string, std::uint32_t>;

struct Table {
  std::mutex mutex;
  std::unique_ptr<Slot[]> slots;  // kSets * kWays, zeroed; null until the first checked entry
  std::uint32_t tick = 0;
  std::set<Pair> reported;
};

// Never destroyed: blocks may still be left while static objects are destroyed.
Table& table() {
  static Table* const t = [] {
    auto* created = new Table;
    // A fork while another thread holds the mutex must not leave it locked in the child.
    pthread_atfork([] { table().mutex.lock(); }, [] { table().mutex.unlock(); },
                   [] { table().mutex.unlock(); });
    return created;
  }();
  return *t;
}

std::atomic<Reuse> g_policy{Reuse::warn};

std::string where(Site site) { return std::string(site.file) + ":" + std::to_string(site.line); }

Pair pair_of(Site first, Site second) {
  return Pair{first.file, first.line, second.file, second.line};
}

}  // namespace

std::string reuse_message(const ReuseReport& r, const char* prefix, const char* allow) {
  return std::string(prefix) + ": block " + std::to_string(r.block_seed) + " entered at " +
         where(r.second) + " was entered at " + where(r.first) +
         " too: both draw the same numbers (the same key under this initial seed and rank). Give "
         "each place its own block seed or path, or call " + allow + " if the reuse is meant." +
         (r.policy == Reuse::error ? " (reuse policy: error)"
                                   : " Warned once for this pair of places.");
}

namespace {

std::string message(const ReuseReport& r) {
  return reuse_message(r, "rb", "rb::set_reuse_policy(rb::Reuse::allow)");
}

// Looks `key` up from `site`: true, with the key's first place in `first`, when it is a reuse not
// reported yet. Records a new key.
bool lookup(Table& t, std::uint64_t key, Site site, Site& first) {
  std::lock_guard<std::mutex> lock(t.mutex);
  if (!t.slots) t.slots.reset(new Slot[kSets * kWays]());
  if (++t.tick == 0) t.tick = 1;  // 0 marks an empty slot
  Slot* set = &t.slots[(key & (kSets - 1)) * kWays];
  Slot* victim = set;
  for (std::size_t i = 0; i < kWays; ++i) {
    Slot& slot = set[i];
    if (slot.tick != 0 && slot.key == key) {
      slot.tick = t.tick;
      first = Site{slot.file, slot.line};
      return !same_site(first, site) && t.reported.count(pair_of(first, site)) == 0;
    }
    // The empty slot, else the one entered least recently (ticks wrap: compare ages).
    if (victim->tick != 0 && (slot.tick == 0 || t.tick - slot.tick > t.tick - victim->tick)) {
      victim = &slot;
    }
  }
  *victim = Slot{key, site.file, site.line, t.tick};
  return false;
}

}  // namespace

bool same_site(Site a, Site b) noexcept {
  if (a.line != b.line) return false;
  return a.file == b.file ||
         (a.file != nullptr && b.file != nullptr && std::strcmp(a.file, b.file) == 0);
}

void check_reuse(Key key, std::uint64_t block_seed, Site site, const ReuseReporter& reporter) {
  const Reuse policy = g_policy.load(std::memory_order_relaxed);
  if (policy == Reuse::allow || site.file == nullptr) return;
  Table& t = table();
  Site first{nullptr, 0};
  if (!lookup(t, key_value(key), site, first)) return;
  // Reported outside the lock: rblock's reporter runs Python's warning machinery.
  const ReuseReport report{block_seed, first, site, policy};
  if (reporter.report != nullptr) reporter.report(reporter.context, report);
  if (policy == Reuse::error) throw Error(message(report));
  if (reporter.report == nullptr) TORCH_WARN(message(report));
  std::lock_guard<std::mutex> lock(t.mutex);
  t.reported.insert(pair_of(first, site));
}

void forget_reuse() noexcept {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (t.slots) std::memset(t.slots.get(), 0, sizeof(Slot) * kSets * kWays);
  t.tick = 0;
  t.reported.clear();
}

}  // namespace detail

void set_reuse_policy(Reuse policy) {
  if (policy != Reuse::allow && policy != Reuse::warn && policy != Reuse::error) {
    throw Error("rb::set_reuse_policy: the policy is rb::Reuse::allow, warn or error, not " +
                std::to_string(static_cast<int>(policy)) + ".");
  }
  detail::g_policy.store(policy, std::memory_order_relaxed);
}

Reuse reuse_policy() noexcept { return detail::g_policy.load(std::memory_order_relaxed); }

}  // namespace rb
