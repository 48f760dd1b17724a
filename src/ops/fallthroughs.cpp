// What rb's op layer leaves to torch at CustomRNGKeyId: the random ops rb does not cover (refusing
// rb's generator), the fallthrough of every other op, and the lists the coverage test checks.
#include <string>
#include <utility>
#include <vector>

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

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  using namespace rb::detail;
  for (const std::string& name : uncovered_generator_ops()) {
    m.impl(name.c_str(), torch::CppFunction::makeFromBoxedFunction<&uncovered>());
  }
}

// With a philox-engine block the calling thread includes CustomRNGKeyId in every op's dispatch
// keys: every op rb has no kernel for falls through to torch's (Note [Philox engine streams]).
TORCH_LIBRARY_IMPL(_, CustomRNGKeyId, m) { m.fallback(torch::CppFunction::makeFallthrough()); }

namespace rb::detail {
namespace {

// Note [Composite kernels at CustomRNGKeyId]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A CompositeExplicitAutograd kernel serves every backend key, CustomRNGKeyId included, and wins
// over a backend fallback. Inside a philox-engine block an op such as _foreach_add_ would then run
// its slow composite path instead of falling through to its fast CPU or CUDA kernel. So every
// aten op that is not random (no Generator argument, no nondeterministic_seeded tag) and has such
// a composite kernel gets an explicit fallthrough at CustomRNGKeyId: it runs exactly as outside
// the block. Random composite ops (rand, randn, randint, randperm, bernoulli.p, ...) keep their
// composite kernel, which decomposes into the in-place ops rb covers. Ops with a BackendSelect
// kernel (factories such as empty, _to_copy) keep theirs too: BackendSelect recomputes the
// dispatch keys from the thread's included set without the op's fallthrough mask, so it would
// land on the fallthrough itself (torch refuses to run one); their composite kernel is what their
// CPU or CUDA key runs anyway.

bool takes_generator(const c10::FunctionSchema& schema) {
  for (const auto& argument : schema.arguments()) {
    c10::TypePtr type = argument.type();
    if (type->kind() == c10::TypeKind::OptionalType)
      type = type->castRaw<c10::OptionalType>()->getElementType();
    if (type->kind() == c10::TypeKind::GeneratorType) return true;
  }
  return false;
}

const bool kCompositeFallthroughsRegistered = [] {
  static torch::Library library(torch::Library::IMPL, "aten", kKey, __FILE__, __LINE__);
  auto& dispatcher = c10::Dispatcher::singleton();
  for (const c10::OperatorName& name : dispatcher.getAllOpNames()) {
    if (name.name.rfind("aten::", 0) != 0) continue;
    const auto op = dispatcher.findOp(name);
    if (!op || !op->hasSchema() || op->hasKernelForDispatchKey(kKey)) continue;
    if (takes_generator(op->schema()) || op->hasTag(at::Tag::nondeterministic_seeded)) continue;
    if (op->hasKernelForDispatchKey(c10::DispatchKey::BackendSelect)) continue;
    if (!op->hasKernelForDispatchKey(c10::DispatchKey::CompositeExplicitAutograd) &&
        !op->hasKernelForDispatchKey(c10::DispatchKey::CompositeExplicitAutogradNonFunctional)) {
      continue;
    }
    const std::string short_name =
        name.name.substr(6) + (name.overload_name.empty() ? "" : "." + name.overload_name);
    library.impl(short_name.c_str(), torch::CppFunction::makeFallthrough());
  }
  return true;
}();

}  // namespace
}  // namespace rb::detail
