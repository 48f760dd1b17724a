// rb's c10::GeneratorImpl: a block's key and rb-stream position, dispatched at CustomRNGKeyId.
#include "generator_impl.hpp"

#include <cstring>
#include <mutex>
#include <string>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/GeneratorImpl.h>

#include "rb/block.hpp"
#include "rb/generator.hpp"
#include "stream_end.hpp"

namespace rb {
namespace detail {

// Note [Generator state]
// ~~~~~~~~~~~~~~~~~~~~~~
// get_state() of rb's generator is a CPU uint8 tensor of kGeneratorStateBytes = 40 bytes, all
// fields little-endian:
//
//   bytes  0..3   magic "rbG1" (0x31476272 as a little-endian u32)
//   bytes  4..7   rb::kStreamVersion that wrote it
//   bytes  8..15  initial seed
//   bytes 16..23  block seed
//   bytes 24..31  key, derive_key(initial seed, block seed), as a check
//   bytes 32..39  position in the rb stream, in 128-bit Philox outputs
//
// set_state() refuses, with rb::Error and without changing the generator, any tensor that is not
// 40 uint8 bytes on the CPU (in a storage that holds them), has another magic, a version it cannot
// read, or whose key does not match its seeds.

namespace {

constexpr std::uint32_t kStateMagic = 0x31476272u;  // "rbG1" in little-endian byte order

template <class T>
void put(std::uint8_t* bytes, int offset, T value) {
  std::memcpy(bytes + offset, &value, sizeof(T));  // rb supports little-endian hosts only
}
template <class T>
T get(const std::uint8_t* bytes, int offset) {
  T value;
  std::memcpy(&value, bytes + offset, sizeof(T));
  return value;
}

c10::Device normalized(c10::Device device) {
  if (device.is_cpu()) return c10::Device(c10::kCPU);
  if (device.is_cuda()) return device;
  throw Error("rb::make_generator: rb's generator runs on the CPU and on CUDA devices, not on " +
              device.str() + ".");
}

}  // namespace

PhiloxGeneratorImpl::PhiloxGeneratorImpl(c10::Device device, std::uint64_t initial_seed,
                                         std::uint64_t block_seed, std::uint64_t position)
    : c10::GeneratorImpl{normalized(device), c10::DispatchKeySet(c10::DispatchKey::CustomRNGKeyId)},
      initial_seed_(initial_seed),
      block_seed_(block_seed),
      key_(derive_key(initial_seed, block_seed)),
      position_(position) {}

void PhiloxGeneratorImpl::set_current_seed(std::uint64_t seed) {
  block_seed_ = seed;
  key_ = derive_key(initial_seed_, seed);
  position_ = 0;
}

std::uint64_t PhiloxGeneratorImpl::current_seed() const { return block_seed_; }

std::uint64_t PhiloxGeneratorImpl::seed() {
  const std::uint64_t random = c10::detail::getNonDeterministicRandom();
  set_current_seed(random);
  return random;
}

void PhiloxGeneratorImpl::set_offset(std::uint64_t offset) { position_ = offset; }

std::uint64_t PhiloxGeneratorImpl::get_offset() const { return position_; }

c10::intrusive_ptr<c10::TensorImpl> PhiloxGeneratorImpl::get_state() const {
  at::Tensor state = at::empty({kGeneratorStateBytes}, at::TensorOptions().dtype(at::kByte));
  std::uint8_t* bytes = state.data_ptr<std::uint8_t>();
  put(bytes, 0, kStateMagic);
  put(bytes, 4, kStreamVersion);
  put(bytes, 8, initial_seed_);
  put(bytes, 16, block_seed_);
  put(bytes, 24, key_value(key_));
  put(bytes, 32, position_);
  return state.getIntrusivePtr();
}

void PhiloxGeneratorImpl::set_state(const c10::TensorImpl& new_state) {
  const std::string what = "rb generator set_state: ";
  if (new_state.device().type() != c10::kCPU || new_state.dtype() != caffe2::TypeMeta::Make<std::uint8_t>() ||
      new_state.numel() != kGeneratorStateBytes || !new_state.is_contiguous()) {
    throw Error(what + "expected a contiguous CPU uint8 tensor of " +
                std::to_string(kGeneratorStateBytes) +
                " bytes, as get_state() of an rb generator returns (see Note [Generator state]).");
  }
  // A tensor can keep its size after its storage was freed (FSDP frees parameters that way).
  const auto needed = static_cast<std::size_t>(new_state.storage_offset() + kGeneratorStateBytes);
  if (!new_state.has_storage() || new_state.storage().data() == nullptr ||
      new_state.storage().nbytes() < needed) {
    throw Error(what + "the state tensor's storage does not hold its 40 bytes (was it freed or "
                       "resized?): pass the tensor that get_state() of an rb generator returned.");
  }
  const auto* bytes = static_cast<const std::uint8_t*>(new_state.data());
  if (get<std::uint32_t>(bytes, 0) != kStateMagic) {
    throw Error(what + "these bytes are not an rb generator state (wrong magic): pass the tensor "
                       "that get_state() of an rb generator returned.");
  }
  // The generator's stream has not changed since stream version 1 (version 2 changed the philox
  // engine only), so states written by either load.
  if (const auto version = get<std::uint32_t>(bytes, 4); version < 1 || version > kStreamVersion) {
    throw Error(what + "this state was written by stream version " + std::to_string(version) +
                "; this rb reads versions 1 to " + std::to_string(kStreamVersion) + ".");
  }
  const auto initial = get<std::uint64_t>(bytes, 8), block = get<std::uint64_t>(bytes, 16);
  if (key_value(derive_key(initial, block)) != get<std::uint64_t>(bytes, 24)) {
    throw Error(what + "the key does not match the seeds: the state bytes are corrupted.");
  }
  initial_seed_ = initial;
  block_seed_ = block;
  key_ = derive_key(initial, block);
  position_ = get<std::uint64_t>(bytes, 32);
}

PhiloxGeneratorImpl* PhiloxGeneratorImpl::clone_impl() const {
  return new PhiloxGeneratorImpl(device(), initial_seed_, block_seed_, position_);
}

Stream PhiloxGeneratorImpl::take(std::uint64_t n_counters) {
  Stream s = make_stream(key_, Domain::rb_stream);
  s.base = position_;
  position_ = advanced(position_, n_counters, "rb's generator of block", block_seed_);
  return s;
}

Stream PhiloxGeneratorImpl::stream() const {
  Stream s = make_stream(key_, Domain::rb_stream);
  s.base = position_;
  return s;
}

PhiloxGeneratorImpl* rb_generator_impl(const at::Generator& gen) {
  if (!gen.defined() || !gen.key_set().has(c10::DispatchKey::CustomRNGKeyId)) return nullptr;
  return dynamic_cast<PhiloxGeneratorImpl*>(gen.unsafeGetGeneratorImpl());
}

bool is_rb_generator(const at::Generator& gen) { return rb_generator_impl(gen) != nullptr; }

Stream generator_stream(const at::Generator& gen) {
  PhiloxGeneratorImpl* impl = rb_generator_impl(gen);
  if (!impl) throw Error("rb::detail::generator_stream: not an rb generator.");
  std::lock_guard<std::mutex> lock(const_cast<at::Generator&>(gen).mutex());
  return impl->stream();
}

}  // namespace detail

at::Generator detail::generator_from_state(const at::Tensor& state, c10::Device device) {
  at::Generator gen = at::make_generator<detail::PhiloxGeneratorImpl>(device, 0, 0, 0);
  gen.set_state(state);  // the seeds come with the state; refused (rb::Error) if it is not rb's
  return gen;
}

at::Generator make_generator(std::uint64_t block_seed, c10::Device device) {
  const std::uint64_t seed = initial_seed();  // throws before rb::set_seed
  return at::make_generator<detail::PhiloxGeneratorImpl>(device, seed, block_seed, 0);
}

}  // namespace rb
