// Installs block states into LibTorch's default generators, and saves and restores them.
#include "torch_state.hpp"

#include <mutex>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/core/Generator.h>

#if RB_TORCH_CUDA
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include "engine.hpp"
#include "fill.hpp"
#include "rb/block.hpp"
#include "rb/detail/mt_state.hpp"

namespace rb::detail {
namespace {

at::Generator cuda_generator(int device) {
  return at::globalContext().defaultGenerator(
      at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device)));
}

}  // namespace

int cuda_device_count() {
#if RB_TORCH_CUDA
  // c10 caches the count; without a driver it is 0 (and nothing is initialised).
  static const int count = static_cast<int>(c10::cuda::device_count());
  return count;
#else
  return 0;
#endif
}

namespace {

/// Whether a CUDA graph is being captured on the current stream of CUDA device `device`. The
/// same test as torch's at::cuda::assertNotCapturing, on that device: without a primary context
/// nothing can be capturing there, and asking would create one.
bool capturing(c10::DeviceIndex device) {
#if RB_TORCH_CUDA
  if (!c10::cuda::hasPrimaryContext(device)) return false;
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  C10_CUDA_CHECK(cudaStreamIsCapturing(c10::cuda::getCurrentCUDAStream(device).stream(), &status));
  return status != cudaStreamCaptureStatusNone;
#else
  (void)device;
  return false;
#endif
}

[[noreturn]] void refuse_capture(const char* action) {
  throw Error(
      std::string("rb: cannot ") + action +
      " while a CUDA graph is being captured: a captured graph would replay the same random "
      "numbers. Enter and leave blocks (and reserve streams, and draw from rb's generator) "
      "outside torch.cuda.graph / CUDAGraph::capture_begin..capture_end.");
}

}  // namespace

void check_not_capturing(const char* action) {
  const int devices = cuda_device_count();
  for (int d = 0; d < devices; ++d) {
    if (capturing(static_cast<c10::DeviceIndex>(d))) refuse_capture(action);
  }
}

void check_not_capturing(const char* action, c10::Device device) {
  if (!device.is_cuda() || cuda_device_count() == 0) return;
#if RB_TORCH_CUDA
  if (capturing(device.has_index() ? device.index() : c10::cuda::current_device()))
    refuse_capture(action);
#endif
}

void install_torch_state(Key key, Engine engine) {
  // The caller has checked that no device captures a CUDA graph (check_not_capturing). CUDA comes
  // first: should torch still refuse a device, the devices changed so far get their state back and
  // the CPU generator is untouched: all or nothing.
  const int devices = cuda_device_count();
  if (devices > 0) {
    const std::uint64_t seed = cuda_seed(key);
    c10::SmallVector<CudaGeneratorState, 8> before;
    try {
      for (int d = 0; d < devices; ++d) {
        at::Generator gen = cuda_generator(d);
        std::lock_guard<std::mutex> lock(gen.mutex());
        const CudaGeneratorState state{gen.current_seed(), gen.get_offset()};
        gen.set_current_seed(seed);  // also sets the Philox offset to 0
        before.push_back(state);
      }
    } catch (...) {
      for (int d = 0; d < static_cast<int>(before.size()); ++d) {
        at::Generator gen = cuda_generator(d);
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_current_seed(before[d].seed);
        gen.set_offset(before[d].offset);
      }
      throw;
    }
  }
  install_cpu_state(key, engine);
}

void install_cpu_state(Key key, Engine engine) {
  // A scratch engine per thread: at::mt19937's constructor seeds itself (624 multiplications),
  // which set_data then overwrites; constructing it once keeps block entry O(1) and cheap.
  thread_local at::mt19937 mt;
  at::mt19937_data_pod pod;
  pod.seed_ = engine_mark(key.v[0], engine);  // what torch::initial_seed() reports; Note [Engine mark]
  pod.seeded_ = true;
  pod.left_ = 1;  // no word used yet: the first draw twists the state
  pod.next_ = 0;
  fill_mt_state(key, Domain::torch_cpu, pod.state_.data());
  mt.set_data(pod);

  at::CPUGeneratorImpl* impl = default_cpu_impl();
  std::lock_guard<std::mutex> lock(impl->mutex_);
  impl->set_engine(mt);
  // set_engine keeps the cached Box-Muller samples; a block starts without them.
  impl->set_next_float_normal_sample(std::nullopt);
  impl->set_next_double_normal_sample(std::nullopt);
}

at::CPUGeneratorImpl* default_cpu_impl() {
  return at::detail::getDefaultCPUGenerator().get<at::CPUGeneratorImpl>();
}

void fill_mt_state(Key key, Domain domain, std::uint32_t* out) {
  philox_words(make_stream(key, domain), 0, kMtStateWords / 4, out);
  out[0] |= 0x80000000u;  // See Note [Full Mersenne Twister state]
}

void remark_cpu_state(Engine engine) {
  at::CPUGeneratorImpl* impl = default_cpu_impl();
  std::lock_guard<std::mutex> lock(impl->mutex_);
  const std::uint64_t seed = impl->current_seed();
  const std::optional<Engine> marked = marked_engine(seed);
  if (!marked || *marked == engine) return;  // unmarked states follow the thread's engine
  const std::uint64_t mark = engine_mark(lo32(seed), engine);
  at::mt19937 mt = impl->engine();
  at::mt19937_data_pod pod = mt.data();
  pod.seed_ = mark;
  mt.set_data(pod);
  impl->set_engine(mt);  // keeps the cached normal samples: the numbers do not change
}

TorchSnapshot snapshot_torch_state() {
  TorchSnapshot snapshot;
  {
    at::CPUGeneratorImpl* impl = default_cpu_impl();
    std::lock_guard<std::mutex> lock(impl->mutex_);
    snapshot.cpu_engine = impl->engine();
    snapshot.cpu_next_float_normal = impl->next_float_normal_sample();
    snapshot.cpu_next_double_normal = impl->next_double_normal_sample();
  }
  const int devices = cuda_device_count();
  for (int d = 0; d < devices; ++d) {
    at::Generator gen = cuda_generator(d);
    std::lock_guard<std::mutex> lock(gen.mutex());
    snapshot.cuda.push_back({gen.current_seed(), gen.get_offset()});
  }
  return snapshot;
}

void restore_torch_state(const TorchSnapshot& snapshot) {
  for (int d = 0; d < static_cast<int>(snapshot.cuda.size()); ++d) {
    at::Generator gen = cuda_generator(d);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(snapshot.cuda[d].seed);
    gen.set_offset(snapshot.cuda[d].offset);
  }
  at::CPUGeneratorImpl* impl = default_cpu_impl();
  std::lock_guard<std::mutex> lock(impl->mutex_);
  impl->set_engine(snapshot.cpu_engine);
  impl->set_next_float_normal_sample(snapshot.cpu_next_float_normal);
  impl->set_next_double_normal_sample(snapshot.cpu_next_double_normal);
}

}  // namespace rb::detail
