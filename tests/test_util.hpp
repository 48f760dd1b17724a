// Helpers shared by rb's LibTorch tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace rb::test {

/// at::set_num_threads(n), except in the ThreadSanitizer build, which stays on one thread: torch's
/// OpenMP runtime is not instrumented, so its workers would only produce false reports. The thread
/// independence tests still run, with n = 1 there, and fully in the normal build.
inline void set_threads(int n) {
#if RB_TSAN_BUILD
  (void)n;
  at::set_num_threads(1);
#else
  at::set_num_threads(n);
#endif
}

/// The default CPU generator's full state (torch.get_rng_state()).
inline torch::Tensor cpu_state() { return at::detail::getDefaultCPUGenerator().get_state(); }

/// Whether torch sees a CUDA device.
inline bool has_cuda() { return torch::cuda::is_available(); }

/// (seed, offset) of every CUDA device's default generator.
inline std::vector<std::pair<std::uint64_t, std::uint64_t>> cuda_states() {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  if (!has_cuda()) return out;
  for (int d = 0; d < static_cast<int>(torch::cuda::device_count()); ++d) {
    auto gen = at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(d)));
    out.emplace_back(gen.current_seed(), gen.get_offset());
  }
  return out;
}

/// A mix of draws from torch's CPU generator, concatenated as float64: uniform, normal (both the
/// vectorised and the scalar path), integers and a permutation.
inline torch::Tensor draws() {
  return torch::cat({torch::rand({37}, torch::kDouble), torch::randn({40}, torch::kDouble),
                     torch::randn({3}, torch::kDouble),
                     torch::randint(0, 1000, {20}).to(torch::kDouble),
                     torch::randperm(50).to(torch::kDouble)});
}

/// Collects the warnings TORCH_WARN issues on the calling thread while it lives.
class CapturedWarnings : public c10::WarningHandler {
 public:
  CapturedWarnings() : previous_(c10::WarningUtils::get_warning_handler()) {
    c10::WarningUtils::set_warning_handler(this);
  }
  ~CapturedWarnings() override { c10::WarningUtils::set_warning_handler(previous_); }
  CapturedWarnings(const CapturedWarnings&) = delete;
  CapturedWarnings& operator=(const CapturedWarnings&) = delete;

  void process(const c10::Warning& warning) override { messages.push_back(warning.msg()); }
  /// Whether a captured warning contains `text`.
  bool saw(const std::string& text) const {
    for (const auto& m : messages) {
      if (m.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::vector<std::string> messages;

 private:
  c10::WarningHandler* previous_;
};

/// FNV-1a 64 of the bytes of a contiguous tensor: a short fingerprint of its bits.
inline std::uint64_t fnv1a(const torch::Tensor& t) {
  const auto bytes = t.contiguous().view({-1}).view(torch::kByte);
  const std::uint8_t* p = bytes.data_ptr<std::uint8_t>();
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV offset basis
  for (std::int64_t i = 0; i < bytes.numel(); ++i) h = (h ^ p[i]) * 0x100000001b3ull;  // FNV prime
  return h;
}

/// Bit-for-bit equality of two tensors of the same dtype and shape.
inline bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && a.dtype() == b.dtype() &&
         torch::equal(a.contiguous().view(torch::kByte), b.contiguous().view(torch::kByte));
}

}  // namespace rb::test
