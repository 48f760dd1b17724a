// rb's dispatch key changes nothing for ops that are not torch's random ops: meta tensors,
// composite kernels of any namespace (also of operators defined after rb was loaded) and
// BackendSelect ops run as on a thread rb never touched. See Note [Composite kernels at CustomRNGKeyId].
#include <atomic>
#include <functional>
#include <optional>

#include <ATen/core/dispatch/Dispatcher.h>
#include <gtest/gtest.h>
#include <torch/library.h>
#include <torch/torch.h>

#include "rb/rb.hpp"

namespace rb {
namespace {

constexpr c10::DispatchKey kRbKey = c10::DispatchKey::CustomRNGKeyId;

/// Runs `f` outside blocks, in a torch-engine block and in a philox-engine block.
void in_every_context(const std::function<void()>& f) {
  f();
  {
    Block block(9);
    f();
  }
  {
    Block block(10, OnExit::keep, Engine::philox);
    f();
  }
}

TEST(Dispatch, MetaTensorsWorkAsWithoutRb) {
  set_seed(42);
  in_every_context([] {
    const torch::Tensor sum = torch::empty({4}, torch::kMeta) + 1;
    EXPECT_TRUE(sum.is_meta());
    EXPECT_EQ(sum.sizes(), torch::IntArrayRef({4}));
    const torch::Tensor r = torch::rand({3, 5}, torch::kMeta);
    EXPECT_TRUE(r.is_meta());
    const torch::Tensor d = torch::dropout(torch::empty({8}, torch::kMeta), 0.5, true);
    EXPECT_TRUE(d.is_meta());
    EXPECT_TRUE(torch::empty({2}, torch::kMeta).to(torch::kDouble).is_meta());
  });
}

// Kernels of a test operator defined while the test runs (after rb was loaded): each records
// which one ran.
std::atomic<int> g_ran{0};
enum Ran { kComposite = 1, kCpu = 2, kMeta = 3 };

torch::Tensor composite_kernel(const torch::Tensor& x) {
  g_ran = kComposite;
  return x * 2;
}
torch::Tensor cpu_kernel(const torch::Tensor& x) {
  g_ran = kCpu;
  return x * 3;
}
torch::Tensor meta_kernel(const torch::Tensor& x) {
  g_ran = kMeta;
  return torch::empty_like(x);
}

TEST(Dispatch, OperatorsDefinedLaterRunTheirBackendKernels) {
  torch::Library def(torch::Library::DEF, "rb_dispatch_test", std::nullopt, __FILE__, __LINE__);
  def.def("scale(Tensor x) -> Tensor");
  torch::Library composite(torch::Library::IMPL, "rb_dispatch_test",
                           c10::DispatchKey::CompositeExplicitAutograd, __FILE__, __LINE__);
  composite.impl("scale", TORCH_FN(composite_kernel));
  torch::Library cpu(torch::Library::IMPL, "rb_dispatch_test", c10::DispatchKey::CPU, __FILE__,
                     __LINE__);
  cpu.impl("scale", TORCH_FN(cpu_kernel));
  torch::Library meta(torch::Library::IMPL, "rb_dispatch_test", c10::DispatchKey::Meta, __FILE__,
                      __LINE__);
  meta.impl("scale", TORCH_FN(meta_kernel));
  const auto op = c10::Dispatcher::singleton()
                      .findSchemaOrThrow("rb_dispatch_test::scale", "")
                      .typed<torch::Tensor(const torch::Tensor&)>();

  // The next call into rb that seeds or enters a block registers rb's fallthrough for it; from
  // then on the composite kernel never runs in place of the tensor's own backend.
  set_seed(42);
  in_every_context([&] {
    EXPECT_TRUE(torch::equal(op.call(torch::ones({3})), torch::full({3}, 3.0)));
    EXPECT_EQ(g_ran, kCpu);
    EXPECT_TRUE(op.call(torch::empty({3}, torch::kMeta)).is_meta());
    EXPECT_EQ(g_ran, kMeta);
  });
  EXPECT_TRUE(c10::Dispatcher::singleton()
                  .findSchemaOrThrow("rb_dispatch_test::scale", "")
                  .hasKernelForDispatchKey(kRbKey));
}

TEST(Dispatch, ToCopyPassesBelowRbsKey) {
  set_seed(42);
  in_every_context([] {
    const torch::Tensor x = torch::arange(5, torch::kFloat);
    const torch::Tensor y = x.to(torch::kDouble);
    EXPECT_EQ(y.scalar_type(), torch::kDouble);
    EXPECT_TRUE(torch::equal(y, torch::arange(5, torch::kDouble)));
  });
}

TEST(Dispatch, NonRandomCompositeOpsOfTorchFallThrough) {
  set_seed(42);
  auto& dispatcher = c10::Dispatcher::singleton();
  for (const char* name : {"aten::_foreach_add_", "aten::copy"}) {
    for (const c10::OperatorName& op_name : dispatcher.getAllOpNames()) {
      if (op_name.name != name) continue;
      const auto op = dispatcher.findOp(op_name);
      ASSERT_TRUE(op.has_value());
      EXPECT_TRUE(op->hasKernelForDispatchKey(kRbKey)) << name << "." << op_name.overload_name;
    }
  }
  // Random composite ops keep their composite kernel: it decomposes into the ops rb covers.
  const auto rand = dispatcher.findSchemaOrThrow("aten::rand", "");
  EXPECT_FALSE(rand.hasKernelForDispatchKey(kRbKey));
}

}  // namespace
}  // namespace rb
