// When rb's op kernels draw, how they claim counters and fill a tensor. See src/ops/common.hpp.
#include "common.hpp"

#include <limits>
#include <mutex>
#include <string>

#include <ATen/ATen.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include "../generator_impl.hpp"
#include "../torch_state.hpp"
#include "rb/block.hpp"

namespace rb::detail::ops {

bool is_floating(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}
bool is_supported(at::ScalarType t) {
  switch (t) {
    case at::kFloat: case at::kDouble: case at::kHalf: case at::kBFloat16: case at::kByte:
    case at::kChar: case at::kShort: case at::kInt: case at::kLong: case at::kBool:
      return true;
    default:
      return false;
  }
}

bool use_rb(const OptGen& gen, const Tensor& t, Fills fills) {
  if (gen.has_value() && gen->defined()) return rb_generator_impl(*gen) != nullptr;
  if (!c10::impl::tls_is_dispatch_key_included(kKey) || active_engine() != Engine::philox) return false;
  if (!t.is_cpu() && !t.is_cuda()) return false;
  return fills == Fills::floating ? is_floating(t.scalar_type()) : is_supported(t.scalar_type());
}

namespace {

void check_device(const OptGen& gen, const Tensor& t, const char* op) {
  const c10::Device d = t.device();
  if (!d.is_cpu() && !d.is_cuda()) {
    throw Error(std::string("rb: ") + op + " on a " + d.str() +
                " tensor: rb's generator fills CPU and CUDA tensors only.");
  }
  if (!gen.has_value() || !gen->defined()) return;
  const c10::Device g = gen->device();
  const bool same = g.type() == d.type() && (!g.has_index() || !d.has_index() || g.index() == d.index());
  if (!same) {
    throw Error(std::string("rb: ") + op + ": an rb generator on " + g.str() +
                " cannot fill a tensor on " + d.str() + "; create it with rb::make_generator(seed, " +
                "tensor.device()) (element i is the same on every device).");
  }
}

/// Claims `counters` Philox outputs for this call: from rb's generator, or from the calling
/// thread's active block stream (philox engine). Refused during CUDA graph capture, which would
/// bake one stream position into every replay.
Stream claim(const OptGen& gen, const Tensor& t, std::uint64_t counters, const char* op) {
  check_device(gen, t, op);
  if (t.is_cuda()) check_not_capturing((std::string("draw ") + op + " from an rb stream").c_str());
  if (gen.has_value() && gen->defined()) {
    PhiloxGeneratorImpl* impl = rb_generator_impl(*gen);
    std::lock_guard<std::mutex> lock(impl->mutex_);
    return impl->take(counters);
  }
  return take_active_stream(counters);
}

}  // namespace

double floating_max(at::ScalarType t) {
  switch (t) {
    case at::kHalf: return 65504.0;
    case at::kBFloat16: return static_cast<double>(std::numeric_limits<c10::BFloat16>::max());
    case at::kFloat: return std::numeric_limits<float>::max();
    default: return std::numeric_limits<double>::max();
  }
}

void check_floating(const Tensor& t, const char* op) {
  TORCH_CHECK(is_floating(t.scalar_type()), "rb: ", op,
              " expects a floating point tensor (float32, float64, float16, bfloat16), got ",
              t.scalar_type());
}
void check_supported(const Tensor& t, const char* op) {
  TORCH_CHECK(is_supported(t.scalar_type()), "rb: ", op, " does not support dtype ",
              t.scalar_type(), "; rb's generator fills float32/64, float16, bfloat16, bool, "
              "uint8 and signed integer tensors");
}

void fill(Tensor& self, FillRequest request, const OptGen& gen, const char* op) {
  if (self.is_cuda() && !cuda_kernels_built()) {
    throw Error(std::string("rb: ") + op + " on a CUDA tensor, but rb was built without CUDA kernels "
                "(RB_CUDA=OFF): rebuild it with nvcc.");
  }
  const Stream stream = claim(gen, self, counters_for(self.numel(), request.wide), op);
  if (self.numel() == 0) return;
  Tensor target = self.is_contiguous() ? self : at::empty(self.sizes(), self.options());
  request.dtype = target.scalar_type();
  request.out = target.data_ptr();
  request.n = target.numel();
  request.stream = stream;
  if (target.is_cuda()) {
    const c10::OptionalDeviceGuard guard(target.device());
    fill_cuda(request);
  } else {
    fill_cpu(request);
  }
  if (!target.is_same(self)) self.copy_(target);
}

FillRequest request(Sampler sampler, bool wide, double a, double b) {
  FillRequest r{};
  r.sampler = sampler;
  r.wide = wide;
  r.a = a;
  r.b = b;
  return r;
}

}  // namespace rb::detail::ops
