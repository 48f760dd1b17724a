// rb's c10::GeneratorImpl, private to rb::torch. Public entry point: rb::make_generator.
#pragma once

#include <cstdint>

#include <ATen/core/Generator.h>
#include <c10/core/GeneratorImpl.h>

#include "rb/stream.hpp"

namespace rb::detail {

/// A block's key and rb-stream position. Its dispatch key, CustomRNGKeyId, routes every op given
/// this generator to rb's kernels (src/ops/). Callers hold `mutex_` around take().
class PhiloxGeneratorImpl final : public c10::GeneratorImpl {
 public:
  PhiloxGeneratorImpl(c10::Device device, std::uint64_t initial_seed, std::uint64_t block_seed,
                      std::uint64_t position);

  /// The generator's seed is its block seed: setting it moves to that block's stream, position 0.
  void set_current_seed(std::uint64_t seed) override;
  std::uint64_t current_seed() const override;
  std::uint64_t seed() override;
  /// The offset is the stream position, in 128-bit Philox outputs.
  void set_offset(std::uint64_t offset) override;
  std::uint64_t get_offset() const override;
  /// See Note [Generator state] in src/generator.cpp.
  c10::intrusive_ptr<c10::TensorImpl> get_state() const override;
  void set_state(const c10::TensorImpl& new_state) override;

  /// The stream at the current position, then advances it by `n_counters`.
  Stream take(std::uint64_t n_counters);
  /// The stream at the current position.
  Stream stream() const;

 private:
  PhiloxGeneratorImpl* clone_impl() const override;

  std::uint64_t initial_seed_;
  std::uint64_t block_seed_;
  Key key_;
  std::uint64_t position_;
};

/// `gen`'s implementation if it is rb's generator, else nullptr.
PhiloxGeneratorImpl* rb_generator_impl(const at::Generator& gen);

}  // namespace rb::detail
