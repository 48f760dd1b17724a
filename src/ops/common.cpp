// When rb's op kernels draw, and how they fill a tensor: checks and allocation first, then the
// claim of counters, then the fill. See src/ops/common.hpp.
#include "common.hpp"

#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/MemoryOverlap.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include "../engine.hpp"
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

void refuse_foreign(const at::Generator& gen) {
  if (gen.defined() && gen.key_set().has(kKey) && rb_generator_impl(gen) == nullptr) {
    throw Error(
        "rb: a generator at DispatchKey::CustomRNGKeyId that is not one of rb's (another "
        "library's?) reached rb's kernels: rb cannot draw from it, and torch's kernels would "
        "misread it. Pass rb's generator (rb::make_generator, rblock.generator) or torch's.");
  }
}

bool use_rb(const OptGen& gen, const Tensor& t, Fills fills) {
  if (gen.has_value() && gen->defined()) {
    if (rb_generator_impl(*gen) != nullptr) return true;
    refuse_foreign(*gen);
    return false;
  }
  if (!c10::impl::tls_is_dispatch_key_included(kKey)) return false;
  if (!t.is_cpu() && !t.is_cuda()) return false;
  const bool fills_dtype =
      fills == Fills::floating ? is_floating(t.scalar_type()) : is_supported(t.scalar_type());
  return fills_dtype && op_engine() == Engine::philox;
}

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
void check_no_overlap(const Tensor& out) { at::assert_no_internal_overlap(out); }

void* scratch(std::size_t bytes) {
  constexpr std::size_t kKept = std::size_t{64} << 20;
  thread_local std::vector<std::uint64_t> kept;
  thread_local std::vector<std::uint64_t> fresh;
  fresh.clear();
  fresh.shrink_to_fit();  // a larger request's buffer is never kept
  const std::size_t words = (bytes + 7) / 8;
  if (bytes > kKept) {
    fresh.resize(words);
    return fresh.data();
  }
  if (kept.size() < words) kept.resize(words);
  return kept.data();
}

// ---- Fill ---------------------------------------------------------------------------------------

Fill::Fill(Tensor& self, const OptGen& gen, const char* op) : self_(self), gen_(gen), op_(op) {
  const c10::Device d = self.device();
  if (!d.is_cpu() && !d.is_cuda()) {
    throw Error(std::string("rb: ") + op + " on a " + d.str() +
                " tensor: rb's generator fills CPU and CUDA tensors only.");
  }
  if (d.is_cuda() && !cuda_kernels_built()) {
    throw Error(std::string("rb: ") + op +
                " on a CUDA tensor, but rb was built without CUDA kernels "
                "(RB_CUDA=OFF): rebuild it with nvcc.");
  }
  if (gen.has_value() && gen->defined()) {
    const c10::Device g = gen->device();
    if (g.type() != d.type() || (g.has_index() && d.has_index() && g.index() != d.index())) {
      throw Error(
          std::string("rb: ") + op + ": an rb generator on " + g.str() +
          " cannot fill a tensor on " + d.str() +
          "; create it with rb::make_generator(seed, "
          "tensor.device()) in C++, rblock.generator(seed, tensor.device) in Python (element i "
          "is the same on every device).");
    }
  }
  // Refused during CUDA graph capture on the tensor's device: a captured launch would bake one
  // stream position into every replay.
  if (d.is_cuda())
    check_not_capturing((std::string("draw ") + op + " from an rb stream").c_str(), d);
  check_no_overlap(self);
  target_ = self.is_contiguous() ? c10::MaybeOwned<Tensor>::borrowed(self)
                                 : c10::MaybeOwned<Tensor>::owned(at::empty(self.sizes(), self.options()));
}

Stream Fill::claim(bool wide) {
  const std::uint64_t counters = counters_for(self_.numel(), wide);
  if (gen_.has_value() && gen_->defined()) {
    PhiloxGeneratorImpl* impl = rb_generator_impl(*gen_);
    std::lock_guard<std::mutex> lock(impl->mutex_);
    return impl->take(counters);
  }
  return claim_op_stream(counters);
}

void Fill::fill_part(FillRequest request, const Stream& stream, std::int64_t first,
                     std::int64_t n) {
  if (n == 0) return;
  const std::int64_t per = request.wide ? 2 : 4;  // elements per Philox output
  request.dtype = target_->scalar_type();
  request.out = static_cast<char*>(target_->data_ptr()) + first * target_->element_size();
  request.n = n;
  request.stream = stream.skip(static_cast<std::uint64_t>(first / per));
  if (target_->is_cuda()) {
    const c10::OptionalDeviceGuard guard(target_->device());
    fill_cuda(request);
  } else {
    fill_cpu(request);
  }
}

void Fill::finish() {
  if (!target_->is_same(self_)) self_.copy_(*target_);
}

void Fill::run(FillRequest request) {
  const Stream stream = claim(request.wide);
  fill_part(request, stream, 0, self_.numel());
  finish();
}

void fill(Tensor& self, FillRequest request, const OptGen& gen, const char* op) {
  Fill(self, gen, op).run(request);
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
