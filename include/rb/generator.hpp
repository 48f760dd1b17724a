// rb's own LibTorch generator: a counter-based Philox stream that fills tensors identically on
// the CPU and on any GPU. See the README's "rb's generator" for the ops it covers.
#pragma once

#include <cstdint>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "rb/stream.hpp"

namespace rb {

/// A LibTorch generator at the start of block `block_seed`'s rb stream (under the initial seed of
/// rb::set_seed). Pass it to any random op rb covers; element i of the result depends only on the
/// stream and i, so the same call gives the same bits on the CPU and on any GPU, for any number of
/// threads:
///
///     auto gen = rb::make_generator(7);
///     auto a = torch::rand({1000}, gen);
///     auto b = torch::rand({1000}, rb::make_generator(7, torch::kCUDA)).cpu();  // equal to a
///
/// A CPU generator fills CPU tensors, a CUDA one CUDA tensors. Ops rb does not cover refuse it
/// with a clear error. Its seed (`current_seed()`, `manual_seed()`) is the block seed; its offset
/// (`get_offset()`, `set_offset()`) the stream position, in 128-bit Philox outputs. Throws
/// rb::Error before rb::set_seed.
at::Generator make_generator(std::uint64_t block_seed, c10::Device device = c10::kCPU);

namespace detail {

/// Whether `gen` is one of rb's generators.
bool is_rb_generator(const at::Generator& gen);

/// The stream of rb's generator `gen` at its current position.
Stream generator_stream(const at::Generator& gen);

/// rb's generator on `device` at `state` (what its get_state() returned): the state holds the
/// seeds, so rb::set_seed is not needed (what unpickling a Python rb generator calls). Throws
/// rb::Error for bytes that are not an rb generator state.
at::Generator generator_from_state(const at::Tensor& state, c10::Device device);

/// Size in bytes of rb's generator state (get_state / set_state); see Note [Generator state].
inline constexpr std::int64_t kGeneratorStateBytes = 40;

}  // namespace detail
}  // namespace rb
