// Peak memory of rb's kernels, measured by a counting CPU allocator: bernoulli_ with a tensor of
// probabilities needs at most the output's size in extra memory; and an allocation that fails
// leaves the stream alone (rb allocates before it claims counters).
#include <atomic>
#include <cstdint>
#include <functional>
#include <iostream>
#include <optional>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

/// Wraps torch's CPU allocator: counts the bytes alive and their peak, and can refuse an
/// allocation of 64 bytes or more (as an out-of-memory error) to test what a failed allocation
/// leaves behind.
class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* base) : base_(base) {}

  c10::DataPtr allocate(std::size_t n) override {
    // Only allocations of the call's size count: torch wraps scalar operands (x.div_(1 - p)) in
    // 0-dim tensors of a few bytes as it computes, which rb cannot allocate ahead.
    if (refuse_from_ >= 0 && n >= kSmall && allocations_++ >= refuse_from_) {
      TORCH_CHECK_WITH(OutOfMemoryError, false, "CountingAllocator: refused ", n, " bytes");
    }
    auto* context = new Context{base_->allocate(n), n, this};
    const std::int64_t now = alive_ += static_cast<std::int64_t>(n);
    std::int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    return {context->inner.get(), context, &release, c10::Device(c10::kCPU)};
  }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }

  /// Starts a measurement: the peak restarts from the bytes alive now.
  void reset_peak() { peak_ = alive_.load(); }
  /// Bytes allocated beyond those alive at reset_peak, at the highest point since.
  std::int64_t extra_peak(std::int64_t baseline) const { return peak_.load() - baseline; }
  std::int64_t alive() const { return alive_.load(); }
  /// Refuses every allocation of 64 bytes or more after the next `allowed` ones (-1: none).
  void refuse_after(int allowed) {
    allocations_ = 0;
    refuse_from_ = allowed;
  }

 private:
  struct Context {
    c10::DataPtr inner;
    std::size_t n;
    CountingAllocator* owner;
  };
  static void release(void* p) {
    auto* context = static_cast<Context*>(p);
    context->owner->alive_ -= static_cast<std::int64_t>(context->n);
    delete context;
  }

  static constexpr std::size_t kSmall = 64;  // bytes

  c10::Allocator* base_;
  std::atomic<std::int64_t> alive_{0}, peak_{0};
  int allocations_ = 0, refuse_from_ = -1;
};

class MemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rb::set_seed(12);
    test::set_threads(2);
    previous_ = c10::GetCPUAllocator();
    c10::SetCPUAllocator(&counting_);
  }
  void TearDown() override {
    counting_.refuse_after(-1);
    c10::SetCPUAllocator(previous_);
  }

  /// The extra peak memory of `f`, in bytes.
  std::int64_t extra_peak(const std::function<void()>& f) {
    const std::int64_t baseline = counting_.alive();
    counting_.reset_peak();
    f();
    return counting_.extra_peak(baseline);
  }

  c10::Allocator* previous_ = nullptr;
  CountingAllocator counting_{c10::GetCPUAllocator()};
};

TEST_F(MemoryTest, BernoulliWithATensorOfProbabilitiesNeedsAtMostTheOutputsSize) {
  const std::int64_t rows = 4096, cols = 4096;  // 16 MiB of uint8
  auto out = torch::empty({rows, cols}, torch::kByte);
  const std::int64_t limit = out.nbytes();
  struct Case {
    std::string name;
    torch::Tensor p;
  };
  const Case cases[] = {
      {"0-dim p", torch::tensor(0.3)},
      {"full-size float32 p", torch::rand({rows, cols})},
      {"row of p, broadcast", torch::rand({1, cols})},
      {"column of float64 p, broadcast", torch::rand({rows, 1}, torch::kDouble)},
  };
  for (const auto& c : cases) {
    const std::int64_t torch_extra =
        extra_peak([&] { out.bernoulli_(c.p, at::detail::createCPUGenerator(1)); });
    auto g = make_generator(1);
    const std::int64_t rb_extra = extra_peak([&] { out.bernoulli_(c.p, g); });
    std::cout << "[ MEMORY   ] bernoulli_(" << c.name << ") into " << limit
              << " bytes of uint8: extra peak rb " << rb_extra << " bytes, torch " << torch_extra
              << "\n";
    EXPECT_LE(rb_extra, limit) << c.name;
    // The values are those of a p materialized at full size in float64, as before.
    auto g2 = make_generator(1);
    auto reference = torch::empty({rows, cols}, torch::kByte);
    reference.bernoulli_(c.p.expand({rows, cols}).to(torch::kDouble).contiguous(), g2);
    EXPECT_TRUE(torch::equal(out, reference)) << c.name;
    EXPECT_EQ(g.get_offset(), g2.get_offset()) << c.name;
  }
}

TEST_F(MemoryTest, AFailedAllocationLeavesTheStreamAlone) {
  using OptGen = std::optional<at::Generator>;
  struct Case {
    std::string name;
    std::function<void(const OptGen&)> call;
  };
  auto strided = torch::empty({512, 512}).t();  // not contiguous: rb fills a contiguous copy
  auto p = torch::rand({512, 512});
  auto x = torch::randn({512, 512});
  const Case cases[] = {
      {"uniform_ (non-contiguous)", [&](const OptGen& g) { strided.uniform_(0, 1, g); }},
      {"bernoulli_(p) (non-contiguous)", [&](const OptGen& g) { strided.bernoulli_(p, g); }},
      {"normal(mean, std)", [&](const OptGen& g) { at::normal(x, p, g); }},
      {"randperm", [&](const OptGen& g) { torch::randperm(100000, g); }},
      {"multinomial with replacement", [&](const OptGen& g) { torch::multinomial(p, 4, true, g); }},
      {"multinomial without replacement",
       [&](const OptGen& g) { torch::multinomial(p, 4, false, g); }},
      {"rrelu",
       [&](const OptGen& g) {
         auto noise = torch::empty({512, 512});
         at::rrelu_with_noise(x, noise, 0.1, 0.3, true, g);
       }},
      {"_fused_dropout", [&](const OptGen& g) { at::_fused_dropout(x, 0.7, g); }},
      {"native_dropout (philox block)", [&](const OptGen&) { at::native_dropout(x, 0.3, true); }},
  };
  torch::Tensor first;  // block 3's first draw when nothing came before it
  {
    Block b(3, OnExit::keep, Engine::philox);
    first = torch::rand({4});
  }
  for (const auto& c : cases) {
    // Refuse the 1st, 2nd, ... allocation of the call: wherever it fails, nothing was drawn.
    for (int allowed = 0;; ++allowed) {
      ASSERT_LT(allowed, 64) << c.name << " makes too many allocations for this test";
      auto g = make_generator(2);
      Block b(3, OnExit::keep, Engine::philox);  // for the generator-less op
      counting_.refuse_after(allowed);
      bool refused = false;
      try {
        c.call(g);
      } catch (const c10::OutOfMemoryError&) {
        refused = true;
      }
      counting_.refuse_after(-1);
      if (!refused) break;  // the call needs fewer allocations: every one was tried
      EXPECT_EQ(g.get_offset(), 0u)
          << c.name << ": allocation " << allowed + 1 << " failed after drawing";
      EXPECT_TRUE(test::same_bits(torch::rand({4}), first))
          << c.name << ": allocation " << allowed + 1 << " failed after drawing from the block";
    }
  }
}

}  // namespace
}  // namespace rb
