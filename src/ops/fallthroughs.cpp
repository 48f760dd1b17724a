// What rb's op layer leaves to torch at CustomRNGKeyId: the random ops rb does not cover (refusing
// rb's generator), the fallthrough of every other op, and the lists the coverage test checks.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Operators.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>
#include <torch/version.h>

#include "../generator_impl.hpp"
#include "../ops.hpp"
#include "common.hpp"
#include "rb/block.hpp"

namespace rb::detail {
namespace {

using ops::below;
using ops::kKey;

/// Boxed kernel for random ops rb does not cover: refuses rb's generator and any other generator at
/// rb's key (torch's kernel would static_cast it to its own type), lets everything else through.
void uncovered(const c10::OperatorHandle& op, c10::DispatchKeySet ks, torch::jit::Stack* stack) {
  const auto& args = op.schema().arguments();
  const std::size_t first = stack->size() - args.size();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const c10::IValue& v = (*stack)[first + i];
    if (!v.isGenerator()) continue;
    if (rb_generator_impl(v.toGenerator())) {
      throw Error("rb: " + op.schema().operator_name().name +
                  " is not covered by rb's generator; " +
                  "call it with torch's generator (inside a block it holds the block's state).");
    }
    ops::refuse_foreign(v.toGenerator());
  }
  op.redispatchBoxed(below(ks), stack);
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& fallback_ops() {
  static const std::string fused_attention =
      "fused attention: the kernel draws its dropout mask itself, from torch's generator (which "
      "holds the block's installed state)";
  static const std::string no_dropout_attention =
      "fused attention without dropout: tagged seeded, draws nothing";
  static const std::string library_rnn =
      "cuDNN / MIOpen RNN: the library keeps a dropout state that torch seeds from its generator";
  static const std::string mps = "MPS only: rb's kernels fill CPU and CUDA tensors";
  // Each op with the first torch minor version (2.x) that has it, within rb's supported window:
  // the list holds the random ops of the torch rb is built against, no more, no fewer.
  struct Listed {
    const char* name;
    const std::string* reason;
    int since_minor;
  };
  static const std::string rejection =
      "not covered (rejection sampling has no fixed advance): torch's generator";
  static const std::string chooses = "chooses an attention kernel; draws nothing";
  static const std::string nested = "a softmax of nested tensors: tagged seeded, draws nothing";
  static const Listed all[] = {
      {"_cudnn_attention_forward", &fused_attention, 11},
      {"_cudnn_attention_backward", &fused_attention, 11},
      {"_cudnn_attention_forward_no_dropout_inplace", &no_dropout_attention, 15},
      {"_efficient_attention_forward", &fused_attention, 11},
      {"_fill_mem_eff_dropout_mask_", &fused_attention, 11},
      {"_flash_attention_forward", &fused_attention, 11},
      {"_flash_attention_forward.quantized", &fused_attention, 11},
      {"_flash_attention_forward_no_dropout_inplace", &no_dropout_attention, 12},
      {"_scaled_dot_product_cudnn_attention", &fused_attention, 11},
      {"_scaled_dot_product_cudnn_attention_backward", &fused_attention, 11},
      {"_scaled_dot_product_efficient_attention", &fused_attention, 11},
      {"_scaled_dot_product_efficient_attention_backward", &fused_attention, 11},
      {"_scaled_dot_product_flash_attention", &fused_attention, 11},
      {"_scaled_dot_product_flash_attention.quantized", &fused_attention, 11},
      {"_scaled_dot_product_flash_attention_for_cpu", &fused_attention, 11},
      {"_triton_scaled_dot_attention", &fused_attention, 11},
      {"_fused_sdp_choice", &chooses, 11},
      {"_cudnn_init_dropout_state", &library_rnn, 11},
      {"_cudnn_rnn", &library_rnn, 11},
      {"miopen_rnn", &library_rnn, 11},
      {"_lstm_mps", &mps, 11},
      {"_scaled_dot_product_attention_math_for_mps", &mps, 11},
      {"_nested_tensor_softmax_with_shape", &nested, 11},
      {"poisson", &rejection, 11},
      {"binomial", &rejection, 11},
      {"_standard_gamma", &rejection, 11},
      {"_sample_dirichlet", &rejection, 11},
  };
  static const std::vector<std::pair<std::string, std::string>> ops = [] {
    std::vector<std::pair<std::string, std::string>> present;
    for (const Listed& op : all) {
      if (TORCH_VERSION_MINOR >= op.since_minor) present.emplace_back(op.name, *op.reason);
    }
    return present;
  }();
  return ops;
}

const std::vector<std::string>& uncovered_generator_ops() {
  static const std::vector<std::string> ops = {
      "poisson", "binomial", "_standard_gamma", "_sample_dirichlet"};
  return ops;
}

}  // namespace rb::detail

namespace rb::detail {
namespace {

// _to_copy (every .to()) has a BackendSelect kernel, so it cannot fall through rb's key (Note
// [Composite kernels at CustomRNGKeyId]); an unboxed kernel passes it below without boxing.
at::Tensor to_copy(c10::DispatchKeySet ks, const at::Tensor& self,
                   std::optional<at::ScalarType> dtype, std::optional<at::Layout> layout,
                   std::optional<at::Device> device, std::optional<bool> pin_memory,
                   bool non_blocking, std::optional<at::MemoryFormat> memory_format) {
  return at::_ops::_to_copy::redispatch(below(ks), self, dtype, layout, device, pin_memory,
                                        non_blocking, memory_format);
}

}  // namespace
}  // namespace rb::detail

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  using namespace rb::detail;
  for (const std::string& name : uncovered_generator_ops()) {
    m.impl(name.c_str(), torch::CppFunction::makeFromBoxedFunction<&uncovered>());
  }
  m.impl("_to_copy", TORCH_FN(to_copy));
}

// With a philox-engine block the calling thread includes CustomRNGKeyId in every op's dispatch
// keys: every op rb has no kernel for falls through to torch's (Note [Philox engine streams]).
TORCH_LIBRARY_IMPL(_, CustomRNGKeyId, m) { m.fallback(torch::CppFunction::makeFallthrough()); }

namespace rb::detail {
namespace {

// Note [Composite kernels at CustomRNGKeyId]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// rb includes CustomRNGKeyId on every thread it seeds (Note [Philox engine streams]). The key must
// change nothing for an op that is not one of torch's random ops: only aten's random ops (a
// Generator argument or the nondeterministic_seeded tag) are rb's business. A backend fallthrough
// alone does not give that: CustomRNGKeyId is one of the backend keys that the
// CompositeExplicitAutograd (and ...NonFunctional) alias covers, so an op with such a kernel runs
// it at rb's key instead of falling through to the tensor's own backend. For a CPU or CUDA tensor
// that is mostly a slower path (the optimizers' _foreach_* ops); for a meta or fake tensor it is
// wrong: the composite kernel of a Python-defined op (torch's prims, any torch.library.custom_op)
// is its real-data implementation, so torch.empty(4, device="meta") + 1 recursed through
// torch._refs and prims, and FakeTensor, torch.export and torch.compile all failed.
//
// So every op that is not an aten random op and has a composite explicit kernel gets an explicit
// fallthrough at CustomRNGKeyId, whatever its namespace: the dispatcher then masks rb's key out of
// its dispatch key set entirely, and it runs exactly as on a thread rb never touched (meta and
// fake kernels, the Python dispatcher and the backend kernels included). rb listens to the
// dispatcher's registrations (an OpRegistrationListener) to cover operators defined after rb was
// loaded (torchvision, a user's torch.library.custom_op): the listener runs under the
// dispatcher's lock, where no kernel can be registered, so it only queues the name; the queue is
// swept at the next call into rb that seeds or enters a block (one relaxed atomic load when
// nothing is queued). An operator defined after a thread's last such call and run on that thread
// before its next one runs its composite kernel at rb's key in between.
//
// Left alone: aten's random ops, whose composite kernels (rand, randn, bernoulli.p, ...)
// decompose into the in-place ops rb covers; ops with a CompositeImplicitAutograd kernel (a
// registration at a backend key would make their AutogradOther kernel ambiguous, and their
// CustomRNGKeyId entry is that same decomposition). Ops with a BackendSelect kernel (factories,
// _to_copy) cannot take a per-op fallthrough: BackendSelect recomputes the dispatch keys from the
// thread's included set without the op's fallthrough mask, so it would land on the fallthrough
// itself, which torch refuses to run. Those that take a tensor get a boxed kernel that passes the
// call below rb's key instead; pure factories never reach rb's key (BackendSelect keeps only the
// backend's key for them).

bool takes_generator(const c10::FunctionSchema& schema) {
  for (const auto& argument : schema.arguments()) {
    c10::TypePtr type = argument.type();
    if (type->kind() == c10::TypeKind::OptionalType)
      type = type->castRaw<c10::OptionalType>()->getElementType();
    if (type->kind() == c10::TypeKind::GeneratorType) return true;
  }
  return false;
}

bool takes_tensor(const c10::FunctionSchema& schema) {
  for (const auto& argument : schema.arguments()) {
    if (argument.type()->isSubtypeOf(*c10::TensorType::get()) ||
        argument.type()->isSubtypeOf(*c10::OptionalType::ofTensor()) ||
        argument.type()->isSubtypeOf(*c10::ListType::ofTensors()) ||
        argument.type()->isSubtypeOf(*c10::ListType::ofOptionalTensors())) {
      return true;
    }
  }
  return false;
}

/// Passes the call to the keys below rb's: a fallthrough for the ops that cannot have one.
void redispatch_below(const c10::OperatorHandle& op, c10::DispatchKeySet ks,
                      torch::jit::Stack* stack) {
  op.redispatchBoxed(below(ks), stack);
}

enum class Route { as_is, fallthrough, redispatch };

Route route(const c10::OperatorHandle& op) {
  using c10::DispatchKey;
  if (!op.hasSchema() || op.hasKernelForDispatchKey(kKey)) return Route::as_is;
  const bool aten = op.operator_name().name.rfind("aten::", 0) == 0;
  if (aten && (takes_generator(op.schema()) || op.hasTag(at::Tag::nondeterministic_seeded)))
    return Route::as_is;
  if (op.hasKernelForDispatchKey(DispatchKey::CompositeImplicitAutograd)) return Route::as_is;
  if (op.hasKernelForDispatchKey(DispatchKey::BackendSelect))
    return takes_tensor(op.schema()) ? Route::redispatch : Route::as_is;
  const bool composite =
      op.hasKernelForDispatchKey(DispatchKey::CompositeExplicitAutograd) ||
      op.hasKernelForDispatchKey(DispatchKey::CompositeExplicitAutogradNonFunctional);
  return composite ? Route::fallthrough : Route::as_is;
}

// Operators defined since the last sweep, queued by the listener (under the dispatcher's lock).
std::mutex g_queue_mutex;
std::vector<c10::OperatorName> g_queue;          // guarded by g_queue_mutex
std::atomic<std::uint64_t> g_queued{0};          // names ever queued
std::atomic<std::uint64_t> g_swept{0};           // names ever taken by a sweep
std::mutex g_sweep_mutex;                        // one sweep at a time; never held by the listener

class QueueDefinitions final : public c10::OpRegistrationListener {
 public:
  void onOperatorRegistered(const c10::OperatorHandle& op) override {
    std::lock_guard<std::mutex> lock(g_queue_mutex);
    g_queue.push_back(op.operator_name());
    g_queued.fetch_add(1, std::memory_order_release);
  }
  void onOperatorDeregistered(const c10::OperatorHandle&) override {}
};

// Registers the fallthroughs of the queued operators. The registrations live as long as the
// process (their handles are never destroyed: the dispatcher may be torn down first at exit).
void sweep() {
  std::lock_guard<std::mutex> sweeping(g_sweep_mutex);
  std::vector<c10::OperatorName> names;
  {
    std::lock_guard<std::mutex> lock(g_queue_mutex);
    names.swap(g_queue);
    g_swept.store(g_queued.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  static auto* handles = new std::vector<c10::RegistrationHandleRAII>();
  auto& dispatcher = c10::Dispatcher::singleton();
  for (const c10::OperatorName& name : names) {
    const auto op = dispatcher.findOp(name);
    if (!op) continue;
    const Route r = route(*op);
    if (r == Route::as_is) continue;
    handles->push_back(dispatcher.registerImpl(
        name, kKey,
        r == Route::fallthrough
            ? c10::KernelFunction::makeFallthrough()
            : c10::KernelFunction::makeFromBoxedFunction<&redispatch_below>(),
        std::nullopt, nullptr, "rb: Note [Composite kernels at CustomRNGKeyId]"));
  }
}

// The listener replays every operator defined so far, then queues each new one.
const bool kListening = [] {
  static auto* handle = new c10::RegistrationHandleRAII(
      c10::Dispatcher::singleton().addRegistrationListener(std::make_unique<QueueDefinitions>()));
  (void)handle;
  sweep();
  return true;
}();

}  // namespace

void sweep_new_operators() noexcept {
  if (g_queued.load(std::memory_order_acquire) == g_swept.load(std::memory_order_relaxed)) return;
  try {
    sweep();
  } catch (const std::exception& e) {
    try {
      TORCH_WARN("rb: could not register its fallthroughs for newly defined operators (",
                 e.what(), "); they run their composite kernels at rb's dispatch key.");
    } catch (...) {
    }
  }
}

}  // namespace rb::detail
