// Engine::philox: generator-less random ops that draw rb's counter-based streams, keyed by draws
// of torch's CPU generator, so that torch's RNG-state protocols act on them.
#include "engine.hpp"

#include <atomic>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/DispatchKey.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include "audit.hpp"
#include "ops.hpp"
#include "torch_state.hpp"

namespace rb::detail {

// Note [Philox engine streams]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// torch offers no way to replace its default CPU or CUDA generator object (its kernels
// static_cast it to CPUGeneratorImpl / CUDAGeneratorImpl), but the dispatcher lets a thread add a
// dispatch key to every op it calls. On every thread that seeds rb or enters a block, rb includes
// DispatchKey::CustomRNGKeyId: the random ops rb covers reach rb's kernels (src/ops/), every
// other op falls through to torch's (src/ops/fallthroughs.cpp). torch copies the thread's dispatch keys into the tasks of
// at::launch and autograd's device threads, so a CUDA backward pass sees them too.
//
// A philox-engine op keeps no position of its own outside torch's state. It draws one 64-bit
// ticket t from torch's default CPU generator (random64(), under the generator's mutex) and fills
// its output from the stream of key t: element i from philox((i / 4, 0, rb_stream, 0), t) per
// Note [Element mapping], whatever the device of the tensor. So:
// - inside a block, the tickets follow the Mersenne Twister state the block installed from its
//   key: the same sequence of ops gives the same bits on every run, on the CPU and on any GPU (a
//   CUDA op takes its ticket from the CPU generator too);
// - whatever saves, sets or restores torch's CPU generator state acts on philox-engine draws as on
//   torch's own: torch.manual_seed, get_rng_state / set_rng_state, torch.random.fork_rng,
//   activation checkpointing's preserve_rng_state (which restores the CPU state around the
//   recompute, also of a CUDA checkpoint) and DataLoader's per-worker torch.manual_seed;
// - entering a block stays O(1), and a block's numbers do not depend on what ran before it.
// Two ops share a stream only if they draw the same ticket: probability 2^-64 per pair.
//
// Which engine an op draws with is part of the generator state too (Note [Engine mark]), so a
// recompute restored by activation checkpointing draws with the engine of the forward pass even
// when backward() runs outside the block. A WorkerBlock keeps its own sub-stream (c3 = worker + 1
// of the block's rb stream, in order), since torch's CPU generator is shared by all threads.
// make_generator and rb::reserve read their own positions, as torch's explicit generators do.

// Note [Engine mark]
// ~~~~~~~~~~~~~~~~~~
// When rb installs a block into torch's CPU generator it sets the state's `seed` field (what
// torch.initial_seed() reports, saved and restored with the state by get_rng_state /
// set_rng_state) to lo | mark << 32, with lo the low word of the block's key and
// mark = word 0 of philox((lo, engine, 0xfffffff0, 0), key 0) | 1 (engine 0 torch, 1 philox;
// c2 = 0xfffffff0 is the engine-mark domain of Note [Counter layout]; the | 1 keeps every seed
// below 2^32 unmarked). Leaving a block, rb re-marks the state for the engine that is active again;
// torch.manual_seed(s) and any state not installed by rb carry no mark (a 64-bit seed passes for
// a mark with probability 2^-31), and then the calling thread's engine decides. A marked state
// decides by itself: a checkpoint's recompute restores the forward's state, mark included.

namespace {

constexpr std::uint32_t kEngineMarkDomain = 0xfffffff0u;  // See Note [Counter layout]

std::uint32_t mark_word(std::uint32_t lo, Engine engine) {
  const Counter c{{lo, engine == Engine::philox ? 1u : 0u, kEngineMarkDomain, 0u}};
  return philox(c, Key{{0u, 0u}}).v[0] | 1u;
}

}  // namespace

void enable_routing() noexcept {
  sweep_new_operators();
  c10::impl::tls_set_dispatch_key_included(c10::DispatchKey::CustomRNGKeyId, true);
}

std::uint64_t engine_mark(std::uint32_t low, Engine engine) { return join64(low, mark_word(low, engine)); }

std::optional<Engine> marked_engine(std::uint64_t seed) {
  // Every random op asks about the same seed until the state changes, so the last seed found with
  // each answer is kept (two Philox evaluations otherwise): process-wide, as torch's generator
  // is, one atomic word per answer, so that no thread reads half of another's. A mark's high word
  // is odd: the words' initial 0 matches no seed that gets that far.
  static std::atomic<std::uint64_t> last_torch{0}, last_philox{0}, last_unmarked{0};
  if ((hi32(seed) & 1u) == 0) return std::nullopt;
  if (seed == last_torch.load(std::memory_order_relaxed)) return Engine::torch;
  if (seed == last_philox.load(std::memory_order_relaxed)) return Engine::philox;
  if (seed == last_unmarked.load(std::memory_order_relaxed)) return std::nullopt;
  for (Engine engine : {Engine::torch, Engine::philox}) {
    if (hi32(seed) == mark_word(lo32(seed), engine)) {
      (engine == Engine::torch ? last_torch : last_philox).store(seed, std::memory_order_relaxed);
      return engine;
    }
  }
  last_unmarked.store(seed, std::memory_order_relaxed);
  return std::nullopt;
}

Engine op_engine() {
  const ThreadEngine thread = thread_engine();
  if (thread.worker) return thread.engine;
  std::uint64_t seed;
  {
    at::CPUGeneratorImpl* impl = default_cpu_impl();
    std::lock_guard<std::mutex> lock(impl->mutex_);
    seed = impl->current_seed();
  }
  return marked_engine(seed).value_or(thread.engine);
}

Stream claim_op_stream(std::uint64_t n_counters) {
  // What the trace says the block drew (Note [Trace format]), and whether it is a worker's.
  if (!count_ticket_draw(n_counters)) return take_active_stream(n_counters);
  std::uint64_t ticket;
  {
    at::CPUGeneratorImpl* impl = default_cpu_impl();
    std::lock_guard<std::mutex> lock(impl->mutex_);
    ticket = impl->random64();
  }
  return make_stream(make_key(ticket), Domain::rb_stream);
}

}  // namespace rb::detail
