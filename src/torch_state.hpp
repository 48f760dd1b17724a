// Installing, saving and restoring the state of LibTorch's default CPU and CUDA generators.
// Private to rb::torch.
#pragma once

#include <cstdint>
#include <optional>

#include <ATen/core/MT19937RNGEngine.h>
#include <c10/core/Device.h>
#include <c10/util/SmallVector.h>

#include "rb/block.hpp"
#include "rb/stream.hpp"

namespace at {
struct CPUGeneratorImpl;
}

namespace rb::detail {

/// torch's default CPU generator (always a CPUGeneratorImpl), not copied: a copy's reference count
/// costs two atomic operations, which every random op would pay, and at::check_generator takes
/// its generator by value. Lock its mutex_ to read or change it.
at::CPUGeneratorImpl* default_cpu_impl();

/// The seed and Philox offset of one CUDA device's default generator (its 16-byte state).
struct CudaGeneratorState {
  std::uint64_t seed;
  std::uint64_t offset;
};

/// Everything a restoring block must put back, bit for bit.
struct TorchSnapshot {
  at::mt19937 cpu_engine;
  std::optional<float> cpu_next_float_normal;
  std::optional<double> cpu_next_double_normal;
  c10::SmallVector<CudaGeneratorState, 8> cuda;  // one per device, by index
};

/// Throws rb::Error when a CUDA graph is being captured on the current stream of any CUDA device
/// (installing a block changes every device's generator; torch itself refuses to change one while
/// the current device captures): checked before anything changes, so nothing is half-installed.
/// Never initialises CUDA. `action` completes "cannot ... while ...".
void check_not_capturing(const char* action);
/// The same for one device, the one a draw runs on (no check for a CPU device).
void check_not_capturing(const char* action, c10::Device device);

/// Installs the block with key `key` into torch's default generators: the CPU generator gets the
/// full Mersenne Twister state of the torch_cpu domain (normal caches cleared; its seed field marks
/// `engine`, Note [Engine mark]), every CUDA device's generator the seed of the torch_cuda domain
/// at offset 0. See Note [Full Mersenne Twister state]. Call check_not_capturing first. All or
/// nothing: if torch still refuses a device, the devices changed so far get their state back
/// before the error propagates.
void install_torch_state(Key key, Engine engine);

/// Marks the CPU generator's current state for `engine` if it carries another engine's mark,
/// leaving its numbers as they are (an unmarked state stays unmarked). See Note [Engine mark].
void remark_cpu_state(Engine engine);

/// The CPU half of install_torch_state: only the default CPU generator (a DataLoader worker's,
/// which must not touch CUDA).
void install_cpu_state(Key key, Engine engine);

/// mt_state(key, domain) of Note [Full Mersenne Twister state] (624 words, top bit of word 0 set)
/// into `out`, with the vectorized Philox of rb's CPU kernels.
void fill_mt_state(Key key, Domain domain, std::uint32_t* out);

/// The current state of torch's default generators.
TorchSnapshot snapshot_torch_state();

/// Puts back a snapshot taken by snapshot_torch_state.
void restore_torch_state(const TorchSnapshot& snapshot);

/// The number of CUDA devices torch sees (0 without CUDA; never initialises a CUDA context).
int cuda_device_count();

}  // namespace rb::detail
