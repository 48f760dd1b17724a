// Engine::philox: generator-less random ops draw streams keyed by tickets of torch's CPU generator,
// with the engine marked in its state; engines nest and survive exceptions; every random op of
// torch is covered or listed.
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engine.hpp"
#include "fill.hpp"
#include "ops.hpp"
#include "rb/generator.hpp"
#include "rb/rb.hpp"
#include "test_util.hpp"
#include "toy_model.hpp"

namespace rb {
namespace {

using test::same_bits;

bool routed() { return c10::impl::tls_is_dispatch_key_included(c10::DispatchKey::CustomRNGKeyId); }

/// The engine marked in torch's CPU generator state (Note [Engine mark]), if any.
std::optional<Engine> cpu_mark() { return detail::marked_engine(at::detail::getDefaultCPUGenerator().current_seed()); }

/// A copy of torch's default CPU generator, to predict what comes next.
at::Generator cpu_copy() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.clone();
}

/// What a philox-engine rand(n) (float32) draws from a CPU generator: one ticket t, then element
/// i is word i % 4 of philox((i / 4, 0, rb_stream, 0), t). See Note [Philox engine streams].
torch::Tensor philox_rand(at::Generator& cpu, int n) {
  const std::uint64_t ticket = at::check_generator<at::CPUGeneratorImpl>(cpu)->random64();
  const Stream s = make_stream(make_key(ticket), Domain::rb_stream);
  auto out = torch::empty({n});
  for (int i = 0; i < n; ++i) out[i] = uniform_float(s.draw(static_cast<std::uint64_t>(i / 4)).v[i % 4]);
  return out;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::set_threads(2);
    rb::set_seed(77);
  }
  void TearDown() override {
    rb::set_default_engine(Engine::torch);
    EXPECT_EQ(detail::block_depth(), 0u);
    EXPECT_EQ(cpu_mark(), Engine::torch);
  }
};

TEST_F(EngineTest, EachPhiloxOpDrawsATicketFromTorchsCpuGenerator) {
  torch::Tensor first, second;
  at::Generator predicted;
  {
    Block b(5, OnExit::keep, Engine::philox);
    EXPECT_TRUE(routed());
    EXPECT_EQ(cpu_mark(), Engine::philox);
    predicted = cpu_copy();
    first = torch::rand({100});
    second = torch::rand({37});
    EXPECT_TRUE(same_bits(first, philox_rand(predicted, 100)));
    EXPECT_TRUE(same_bits(second, philox_rand(predicted, 37)));
    // ... and torch's CPU generator is exactly where two tickets leave it.
    EXPECT_TRUE(same_bits(test::cpu_state(), predicted.get_state()));
  }
}

TEST_F(EngineTest, RoutingStaysOnAndTheMarkPicksTheEngine) {
  EXPECT_TRUE(routed());  // set_seed turned it on, for good
  EXPECT_EQ(cpu_mark(), Engine::torch);
  {
    Block b(6, OnExit::keep, Engine::philox);
    EXPECT_EQ(cpu_mark(), Engine::philox);
    {
      Block inner(7, OnExit::keep, Engine::torch);
      EXPECT_EQ(cpu_mark(), Engine::torch);
    }
    EXPECT_EQ(cpu_mark(), Engine::philox);  // keep: the inner block's state goes on, re-marked
  }
  EXPECT_EQ(cpu_mark(), Engine::torch);
  EXPECT_TRUE(routed());
}

TEST_F(EngineTest, TheMarkIsTheInitialSeedTorchReports) {
  Block b(8, OnExit::keep, Engine::philox);
  const std::uint64_t seed = at::detail::getDefaultCPUGenerator().current_seed();
  EXPECT_EQ(seed, detail::engine_mark(derive_key(77, 8).v[0], Engine::philox));
  EXPECT_NE(detail::engine_mark(1, Engine::torch), detail::engine_mark(1, Engine::philox));
  for (std::uint64_t small : {0ull, 1ull, 42ull, 0xffffffffull}) {  // manual_seed(small) is never marked
    EXPECT_FALSE(detail::marked_engine(small).has_value()) << small;
  }
}

// marked_engine keeps the last seed of each answer, shared by every thread: whatever the order of
// the questions and the threads asking, its answers are the definition's (Note [Engine mark]).
TEST_F(EngineTest, MarkedEngineAnswersByTheMarkInAnyOrderOnAnyThread) {
  std::vector<std::uint64_t> seeds;
  for (std::uint32_t low : {0u, 1u, 8u, 0xdeadbeefu}) {
    for (Engine e : {Engine::torch, Engine::philox}) {
      const std::uint64_t mark = detail::engine_mark(low, e);
      seeds.push_back(mark);
      seeds.push_back(mark ^ (std::uint64_t{2} << 32));  // an odd high word, almost surely no mark
    }
  }
  for (std::uint64_t s : {0ull, 42ull, 0x100000000ull}) seeds.push_back(s);  // even high words
  auto expected = [](std::uint64_t seed) -> std::optional<Engine> {
    for (Engine e : {Engine::torch, Engine::philox})
      if (detail::engine_mark(static_cast<std::uint32_t>(seed), e) == seed) return e;
    return std::nullopt;
  };
  auto ask = [&](std::size_t stride) {  // every seed, repeated and interleaved in its own order
    int wrong = 0;
    for (std::size_t i = 0; i < 40 * seeds.size(); ++i) {
      const std::uint64_t seed = seeds[(i * stride / 3) % seeds.size()];
      wrong += detail::marked_engine(seed) != expected(seed);
    }
    return wrong;
  };
  EXPECT_EQ(ask(1), 0);
  auto other = std::async(std::launch::async, ask, 7);
  EXPECT_EQ(ask(5), 0);
  EXPECT_EQ(other.get(), 0);
}

TEST_F(EngineTest, PhiloxBlockZeroDrawsWhatSetSeedLeaves) {
  rb::set_default_engine(Engine::philox);
  rb::set_seed(77);
  const auto after_seed = torch::rand({33});
  torch::rand({3});
  torch::Tensor inside;
  {
    Block b(0, OnExit::keep, Engine::philox);
    inside = torch::rand({33});
  }
  EXPECT_TRUE(same_bits(after_seed, inside));
}

TEST_F(EngineTest, NativeDropoutComputesWhatCompositeDropoutComputesInEveryDtype) {
  // CUDA dropout reaches rb's native_dropout; CPU dropout decomposes into bernoulli_ on a tensor of
  // the input's dtype: a philox block must give the same values, mask and stream advance either
  // way.
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16}) {
    const auto x = torch::randn({1001}).to(dtype);
    torch::Tensor native, mask, composite, after_native, after_composite;
    {
      Block b(14, OnExit::keep, Engine::philox);
      std::tie(native, mask) = at::native_dropout(x, 0.3, true);
      after_native = torch::rand({8});
    }
    {
      Block b(14, OnExit::keep, Engine::philox);
      composite = torch::dropout(x, 0.3, true);
      after_composite = torch::rand({8});
    }
    EXPECT_TRUE(same_bits(native, composite)) << dtype;
    EXPECT_TRUE(torch::equal(mask, composite.ne(0))) << dtype;  // x from randn: never 0
    EXPECT_TRUE(same_bits(after_native, after_composite))
        << dtype << ": the stream advanced differently";
  }
}

TEST_F(EngineTest, TorchGeneratorsStillGetTheBlocksState) {
  // An op rb does not cover (poisson) falls back to torch's CPU generator, installed as usual.
  torch::Tensor philox, torch_engine;
  {
    Block b(6, OnExit::keep, Engine::philox);
    philox = torch::poisson(torch::full({64}, 3.0));
  }
  {
    Block b(6, OnExit::keep, Engine::torch);
    torch_engine = torch::poisson(torch::full({64}, 3.0));
  }
  EXPECT_TRUE(same_bits(philox, torch_engine));
}

TEST_F(EngineTest, AnExplicitTorchGeneratorWins) {
  auto mine = at::detail::createCPUGenerator(123);
  const auto expected = torch::rand({10}, at::detail::createCPUGenerator(123));
  Block b(7, OnExit::keep, Engine::philox);
  EXPECT_TRUE(same_bits(torch::rand({10}, mine), expected));
}

TEST_F(EngineTest, EnginesSwitchInNestedBlocks) {
  auto run = [] {
    torch::Tensor outer_first, inner_torch, outer_second;
    {
      Block outer(8, OnExit::keep, Engine::philox);
      outer_first = torch::rand({10});
      {
        Block inner(9, OnExit::keep, Engine::torch);
        inner_torch = torch::rand({10});
      }
      at::Generator predicted = cpu_copy();
      outer_second = torch::rand({10});
      EXPECT_TRUE(same_bits(outer_second, philox_rand(predicted, 10)));  // philox again
    }
    return std::make_tuple(outer_first, inner_torch, outer_second);
  };
  const auto [outer_first, inner_torch, outer_second] = run();
  const auto [again_first, again_inner, again_second] = run();
  EXPECT_TRUE(same_bits(outer_first, again_first));
  EXPECT_TRUE(same_bits(outer_second, again_second));
  Block torch_block(9, OnExit::keep, Engine::torch);
  EXPECT_TRUE(same_bits(inner_torch, torch::rand({10})));  // torch's own kernel
}

TEST_F(EngineTest, AnExceptionLeavesTheStateMarkedForTheOuterEngine) {
  try {
    Block b(10, OnExit::restore, Engine::philox);
    torch::rand({3});
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(detail::block_depth(), 0u);
  EXPECT_EQ(cpu_mark(), Engine::torch);
}

TEST_F(EngineTest, AThreadThatNeverSeededRbDrawsWithTorchsKernels) {
  Block b(11, OnExit::keep, Engine::philox);
  bool other_routed = true;
  torch::Tensor other, expected;
  std::thread([&] {
    other_routed = routed();
    at::Generator predicted = cpu_copy();
    other = torch::rand({1000});
    expected = torch::rand({1000}, predicted);  // torch's kernel on the same state
  }).join();
  EXPECT_FALSE(other_routed);
  EXPECT_TRUE(same_bits(other, expected));
}

TEST_F(EngineTest, TasksThatInheritTheRoutingDrawPhiloxFromTheSharedState) {
  // at::launch copies the thread-local dispatch keys to its worker, as autograd's device threads
  // do: the worker's ops draw their tickets from torch's CPU generator like the caller's.
  Block b(15, OnExit::keep, Engine::philox);
  at::Generator predicted = cpu_copy();
  torch::Tensor launched;
  std::promise<void> done;
  at::launch([&] {
    launched = torch::rand({4});
    done.set_value();
  });
  done.get_future().wait();
  EXPECT_TRUE(same_bits(launched, philox_rand(predicted, 4)));
}

TEST_F(EngineTest, OpsRbCannotFillFallBackToTorchInsideAPhiloxBlock) {
  Block b(16, OnExit::keep, Engine::philox);
  const auto before = test::cpu_state();
  EXPECT_NO_THROW(torch::empty({8}, torch::TensorOptions().device(torch::kMeta)).normal_());  // meta init
  EXPECT_TRUE(same_bits(test::cpu_state(), before));  // draws nothing
  at::Generator predicted = cpu_copy();
  const auto complex = torch::randn({8}, torch::kComplexFloat);
  EXPECT_TRUE(same_bits(complex, torch::randn({8}, predicted, torch::kComplexFloat)));  // torch's kernel
  EXPECT_NO_THROW(torch::empty({8}, torch::kComplexDouble).uniform_());
}

TEST_F(EngineTest, IntraOpThreadsDoNotChangeResults) {
  auto draw = [](int threads) {
    test::set_threads(threads);
    Block b(12, OnExit::keep, Engine::philox);
    auto w = torch::empty({512, 1024});
    torch::nn::init::kaiming_uniform_(w);
    return torch::cat({w.flatten(), torch::randn({300000}), torch::dropout(torch::ones({300000}), 0.3, true)});
  };
  const auto one = draw(1), four = draw(4);
  test::set_threads(2);
  EXPECT_TRUE(same_bits(one, four));
}

TEST_F(EngineTest, DefaultEnginePhiloxAppliesOutsideBlocksAndToBlocks) {
  rb::set_default_engine(Engine::philox);
  EXPECT_EQ(rb::default_engine(), Engine::philox);
  EXPECT_EQ(cpu_mark(), Engine::philox);  // outside blocks the state is re-marked
  at::Generator predicted = cpu_copy();
  EXPECT_TRUE(same_bits(torch::rand({20}), philox_rand(predicted, 20)));
  {
    Block b(3);  // the default engine applies to blocks too
    EXPECT_EQ(cpu_mark(), Engine::philox);
  }
  rb::set_default_engine(Engine::torch);
  EXPECT_EQ(cpu_mark(), Engine::torch);
  predicted = cpu_copy();
  EXPECT_TRUE(same_bits(torch::rand({20}), torch::rand({20}, predicted)));
}

TEST_F(EngineTest, WorkerBlocksDrawTheirOwnSubStream) {
  Block b(13, OnExit::keep, Engine::philox);
  const BlockContext ctx = current_context();
  EXPECT_EQ(ctx.block_seed, 13u);
  const auto before = test::cpu_state();
  std::vector<torch::Tensor> got(3);
  std::vector<std::thread> workers;
  for (std::uint32_t w = 0; w < 3; ++w) {
    workers.emplace_back([&, w] {
      WorkerBlock worker(ctx, w);
      got[w] = torch::rand({8});
    });
  }
  for (auto& t : workers) t.join();
  for (std::uint32_t w = 0; w < 3; ++w) {
    const Stream s = make_stream(derive_key(77, 13), Domain::rb_stream, w + 1);
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(got[w][i].item<float>(), uniform_float(s.draw(i / 4).v[i % 4])) << "worker " << w;
    }
  }
  EXPECT_FALSE(torch::equal(got[0], got[1]));
  EXPECT_TRUE(same_bits(test::cpu_state(), before));  // workers left torch's generator alone
}

/// A small model's initialisation, a training forward pass with dropout and a data order, all in
/// philox blocks: what a user wants to be identical whatever runs around it.
torch::Tensor model_run() {
  torch::nn::Sequential net(nullptr);
  with_block(1, OnExit::keep, Engine::philox, [&] {
    net = torch::nn::Sequential(torch::nn::Linear(32, 64), torch::nn::ReLU(), torch::nn::Dropout(0.5),
                                torch::nn::Linear(64, 8));
  });
  return with_block(2, OnExit::keep, Engine::philox, [&] {
    net->train();
    const auto order = torch::randperm(100);
    const auto x = torch::randn({16, 32});
    std::vector<torch::Tensor> parts;
    for (const auto& p : net->parameters()) parts.push_back(p.detach().flatten());
    parts.push_back(net->forward(x).detach().flatten());
    parts.push_back(order.to(torch::kFloat));
    return torch::cat(parts);
  });
}

TEST_F(EngineTest, AModelIsBitIdenticalAcrossRunsThreadsAndInstructionSets) {
  const auto first = model_run();
  torch::rand({12345});  // unrelated draws between runs change nothing
  EXPECT_TRUE(same_bits(first, model_run()));
  test::set_threads(1);
  EXPECT_TRUE(same_bits(first, model_run()));
  test::set_threads(2);
  const detail::Isa chosen = detail::cpu_isa();
  detail::set_cpu_isa(detail::Isa::scalar);
  const auto scalar = model_run();
  detail::set_cpu_isa(chosen);
  EXPECT_TRUE(same_bits(first, scalar));
}

TEST_F(EngineTest, ToyModelWithPhiloxEngineIsolatesTheFcLayers) {
  test::set_threads(1);
  const auto two = toy::run(2, true, Engine::philox), three = toy::run(3, true, Engine::philox);
  EXPECT_TRUE(torch::equal(two.fc1_initial_weight, three.fc1_initial_weight));
  EXPECT_TRUE(torch::equal(two.first_epoch_order, three.first_epoch_order));
  // And the philox engine draws other numbers than the torch engine.
  EXPECT_FALSE(torch::equal(two.fc1_initial_weight, toy::run(2, true, Engine::torch).fc1_initial_weight));
}

// ---- coverage --------------------------------------------------------------------------------

bool takes_generator(const c10::FunctionSchema& schema) {
  for (const auto& a : schema.arguments()) {
    c10::TypePtr t = a.type();
    if (t->kind() == c10::TypeKind::OptionalType) t = t->castRaw<c10::OptionalType>()->getElementType();
    if (t->kind() == c10::TypeKind::GeneratorType) return true;
  }
  return false;
}

/// The CustomRNGKeyId line of an op's computed dispatch table.
std::string rng_entry(const c10::OperatorHandle& op) {
  std::istringstream table(op.dumpComputedTable());
  for (std::string line; std::getline(table, line);) {
    if (line.rfind("CustomRNGKeyId:", 0) == 0) return line;
  }
  return "";
}

TEST(Coverage, EveryRandomOpOfTorchIsCoveredDecomposedOrListed) {
  std::map<std::string, std::string> fallback(detail::fallback_ops().begin(), detail::fallback_ops().end());
  std::set<std::string> seen_fallbacks;
  int covered = 0, decomposed = 0, falling_back = 0;
  std::ostringstream failures, report;
  auto& dispatcher = c10::Dispatcher::singleton();
  for (const c10::OperatorName& name : dispatcher.getAllOpNames()) {
    const auto op = dispatcher.findOp(name);
    if (!op || !op->hasSchema() || name.name.rfind("aten::", 0) != 0) continue;
    const bool generator = takes_generator(op->schema());
    if (!generator && !op->hasTag(at::Tag::nondeterministic_seeded)) continue;
    const std::string full = name.name.substr(6) + (name.overload_name.empty() ? "" : "." + name.overload_name);
    const std::string entry = rng_entry(*op);
    const bool rb_kernel =
        entry.find("src/ops/") != std::string::npos && entry.find("[kernel]") != std::string::npos;
    const bool composite = entry.find("[default backend kernel]") != std::string::npos ||
                           entry.find("[math kernel]") != std::string::npos;
    if (fallback.count(full)) {
      seen_fallbacks.insert(full);
      ++falling_back;
      report << "  falls back: " << full << " (" << fallback[full] << ")\n";
      if (generator && !rb_kernel) failures << full << ": takes a Generator but has no rb kernel to refuse rb's\n";
    } else if (rb_kernel) {
      ++covered;
    } else if (composite) {
      ++decomposed;
    } else {
      failures << full << ": neither covered nor listed as falling back; its entry: " << entry << "\n";
    }
  }
  for (const auto& [name, reason] : fallback) {
    if (!seen_fallbacks.count(name)) failures << name << ": listed as falling back, but torch has no such random op\n";
  }
  std::cout << "[ COVERAGE ] " << covered << " random ops run rb's kernels, " << decomposed
            << " decompose into ops that do, " << falling_back << " fall back:\n" << report.str();
  EXPECT_TRUE(failures.str().empty()) << failures.str();
  EXPECT_GE(covered, 20);
}

}  // namespace
}  // namespace rb
