// rb's kernels at DispatchKey::CustomRNGKeyId: the random ops given rb's generator and, inside
// philox-engine blocks, the generator-less random ops rb covers. See Note [Philox engine routing].
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Operators.h>
#include <ATen/ExpandUtils.h>
#include <ATen/native/Resize.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/library.h>
#include <torch/version.h>

#include "engine.hpp"
#include "fill.hpp"
#include "generator_impl.hpp"
#include "ops.hpp"
#include "rb/block.hpp"
#include "rb/detail/portable_math.hpp"
#include "torch_state.hpp"

namespace rb::detail {
namespace {

using at::Tensor;
using OptGen = std::optional<at::Generator>;

constexpr c10::DispatchKey kKey = c10::DispatchKey::CustomRNGKeyId;

/// The keys below ours: where torch's own kernel for the op lives.
c10::DispatchKeySet below(c10::DispatchKeySet ks) {
  return ks & c10::DispatchKeySet(c10::DispatchKeySet::FULL_AFTER, kKey);
}

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

/// The dtypes an op's rb kernel fills.
enum class Fills { floating, supported };

/// Whether rb draws this call into `t`. With rb's generator: always (wrong devices and dtypes then
/// get rb's clear errors). Without a generator: for a CPU or CUDA tensor of a dtype rb fills, when
/// the op's engine is philox (op_engine: the engine marked in torch's CPU generator state, else the
/// calling thread's; Note [Philox engine streams]); every other call runs torch's kernel on torch's
/// generator, a meta or complex tensor included. A torch generator always leaves the op to torch.
bool use_rb(const OptGen& gen, const Tensor& t, Fills fills) {
  if (gen.has_value() && gen->defined()) return rb_generator_impl(*gen) != nullptr;
  if (!c10::impl::tls_is_dispatch_key_included(kKey)) return false;
  if (!t.is_cpu() && !t.is_cuda()) return false;
  if (!(fills == Fills::floating ? is_floating(t.scalar_type()) : is_supported(t.scalar_type()))) return false;
  return op_engine() == Engine::philox;
}

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

/// Claims `counters` Philox outputs for this call: from rb's generator, or a philox-engine op's
/// own stream (claim_op_stream). Refused during CUDA graph capture, which would bake one stream
/// position into every replay.
Stream claim(const OptGen& gen, const Tensor& t, std::uint64_t counters, const char* op) {
  check_device(gen, t, op);
  if (t.is_cuda()) check_not_capturing((std::string("draw ") + op + " from an rb stream").c_str());
  if (gen.has_value() && gen->defined()) {
    PhiloxGeneratorImpl* impl = rb_generator_impl(*gen);
    std::lock_guard<std::mutex> lock(impl->mutex_);
    return impl->take(counters);
  }
  return claim_op_stream(counters);
}

/// The largest finite value of a floating dtype.
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

/// Fills `self` (any layout: element i is the i-th in row-major order) per `request`, drawing
/// from `gen` or the active block stream.
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

FillRequest request(Sampler sampler, bool wide, double a = 0, double b = 0) {
  FillRequest r{};
  r.sampler = sampler;
  r.wide = wide;
  r.a = a;
  r.b = b;
  return r;
}

bool is_double(const Tensor& t) { return t.scalar_type() == at::kDouble; }

// ---- in-place distributions -------------------------------------------------------------------

Tensor& uniform_(c10::DispatchKeySet ks, Tensor& self, double from, double to, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::uniform_::redispatch(below(ks), self, from, to, gen);
  check_floating(self, "uniform_");
  // torch's own checks: bounds the dtype holds, and a width it holds too.
  const double max = floating_max(self.scalar_type());
  TORCH_CHECK(std::isfinite(from) && std::isfinite(to) && from >= -max && to <= max,
              "rb: uniform_ expects from and to within the range of ", self.scalar_type(), " (+-", max,
              "), got [", from, ", ", to, ")");
  TORCH_CHECK(from <= to, "rb: uniform_ expects from <= to, got from=", from, " > to=", to);
  TORCH_CHECK(to - from <= max, "rb: uniform_ expects to - from <= ", max, " for ", self.scalar_type(),
              ", got to - from = ", to - from);
  fill(self, request(Sampler::uniform, is_double(self), from, to), gen, "uniform_");
  return self;
}

Tensor& normal_(c10::DispatchKeySet ks, Tensor& self, double mean, double std, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::normal_::redispatch(below(ks), self, mean, std, gen);
  check_floating(self, "normal_");
  TORCH_CHECK(std >= 0.0, "rb: normal_ expects std >= 0.0, got std=", std);
  fill(self, request(Sampler::normal, is_double(self), mean, std), gen, "normal_");
  return self;
}

Tensor& log_normal_(c10::DispatchKeySet ks, Tensor& self, double mean, double std, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::log_normal_::redispatch(below(ks), self, mean, std, gen);
  check_floating(self, "log_normal_");
  TORCH_CHECK(std > 0.0, "rb: log_normal_ expects std > 0.0, got std=", std);
  fill(self, request(Sampler::log_normal, is_double(self), mean, std), gen, "log_normal_");
  return self;
}

Tensor& exponential_(c10::DispatchKeySet ks, Tensor& self, double lambd, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::exponential_::redispatch(below(ks), self, lambd, gen);
  check_floating(self, "exponential_");
  TORCH_CHECK(lambd > 0.0, "rb: exponential_ expects lambda > 0.0, got lambda=", lambd);
  fill(self, request(Sampler::exponential, is_double(self), lambd), gen, "exponential_");
  return self;
}

Tensor& cauchy_(c10::DispatchKeySet ks, Tensor& self, double median, double sigma, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::cauchy_::redispatch(below(ks), self, median, sigma, gen);
  check_floating(self, "cauchy_");
  TORCH_CHECK(sigma > 0.0, "rb: cauchy_ expects sigma > 0.0, got sigma=", sigma);
  fill(self, request(Sampler::cauchy, is_double(self), median, sigma), gen, "cauchy_");
  return self;
}

Tensor& geometric_(c10::DispatchKeySet ks, Tensor& self, double p, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::geometric_::redispatch(below(ks), self, p, gen);
  check_supported(self, "geometric_");
  TORCH_CHECK(self.scalar_type() != at::kBool, "rb: geometric_ does not fill bool tensors");
  TORCH_CHECK(0 < p && p < 1, "rb: geometric_ expects p in (0, 1), got p=", p);
  // log1p(-p), computed once per call with rb's portable math; 64-bit elements for 8-byte types.
  const bool wide = self.element_size() == 8;
  fill(self, request(Sampler::geometric, wide, wide ? log1p_f64(-p) : log1p_f32(static_cast<float>(-p))),
       gen, "geometric_");
  return self;
}

Tensor& bernoulli_float_(c10::DispatchKeySet ks, Tensor& self, double p, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::bernoulli__float::redispatch(below(ks), self, p, gen);
  check_supported(self, "bernoulli_");
  TORCH_CHECK(0 <= p && p <= 1, "rb: bernoulli_ expects p in [0, 1], got p=", p);
  fill(self, request(Sampler::bernoulli, is_double(self), p), gen, "bernoulli_");
  return self;
}

Tensor& bernoulli_tensor_(c10::DispatchKeySet ks, Tensor& self, const Tensor& p, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::bernoulli__Tensor::redispatch(below(ks), self, p, gen);
  check_supported(self, "bernoulli_");
  TORCH_CHECK(p.is_floating_point(), "rb: bernoulli_ expects a floating point p, got ", p.scalar_type());
  const Tensor probs = p.to(self.device(), at::kDouble).expand(self.sizes()).contiguous();
  TORCH_CHECK(at::logical_and(probs >= 0, probs <= 1).all().item<bool>(),
              "rb: bernoulli_ expects all probabilities in [0, 1]");
  FillRequest r = request(Sampler::bernoulli_tensor, is_double(self));
  r.p = probs.data_ptr<double>();
  fill(self, r, gen, "bernoulli_");
  return self;
}

// ---- random_ ------------------------------------------------------------------------------------

// Note [random_ ranges]
// ~~~~~~~~~~~~~~~~~~~~~
// As torch: random_() draws from [0, 2^digits] for floating types (every integer the type holds
// exactly), [0, max] for integers and {0, 1} for bool; random_(from, to) from [from, to);
// random_(from, None) from [from, max] (2^digits for floating types). Integers come by multiply-high
// (Note [Integers by multiply-high]) from 32-bit elements when the range fits 32 bits and the
// dtype is not float64, else from 64-bit elements. The full int64 range takes the word itself.

std::int64_t type_max(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return std::int64_t{1} << std::numeric_limits<float>::digits;
    case at::kDouble: return std::int64_t{1} << std::numeric_limits<double>::digits;
    case at::kHalf: return std::int64_t{1} << 11;
    case at::kBFloat16: return std::int64_t{1} << 8;
    case at::kBool: return 1;
    case at::kByte: return std::numeric_limits<std::uint8_t>::max();
    case at::kChar: return std::numeric_limits<std::int8_t>::max();
    case at::kShort: return std::numeric_limits<std::int16_t>::max();
    case at::kInt: return std::numeric_limits<std::int32_t>::max();
    default: return std::numeric_limits<std::int64_t>::max();
  }
}
std::int64_t type_min(at::ScalarType t) {
  switch (t) {
    case at::kFloat: case at::kDouble: case at::kHalf: case at::kBFloat16:
      return -type_max(t);
    case at::kBool: case at::kByte: return 0;
    case at::kChar: return std::numeric_limits<std::int8_t>::min();
    case at::kShort: return std::numeric_limits<std::int16_t>::min();
    case at::kInt: return std::numeric_limits<std::int32_t>::min();
    default: return std::numeric_limits<std::int64_t>::min();
  }
}

/// Fills `self` with integers in [from, from + range); range 0 means 2^64.
void fill_random(Tensor& self, std::int64_t from, std::uint64_t range, const OptGen& gen, const char* op) {
  const bool wide = is_double(self) || range == 0 || range > (std::uint64_t{1} << 32);
  FillRequest r = request(Sampler::random_range, wide);
  r.from = from;
  r.range = range;
  fill(self, r, gen, op);
}

Tensor& random_(c10::DispatchKeySet ks, Tensor& self, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::random_::redispatch(below(ks), self, gen);
  check_supported(self, "random_");
  const std::uint64_t max = static_cast<std::uint64_t>(type_max(self.scalar_type()));
  fill_random(self, 0, max + 1, gen, "random_");
  return self;
}

Tensor& random_from_(c10::DispatchKeySet ks, Tensor& self, std::int64_t from,
                     std::optional<std::int64_t> to, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::random__from::redispatch(below(ks), self, from, to, gen);
  check_supported(self, "random_");
  const at::ScalarType t = self.scalar_type();
  TORCH_CHECK(from >= type_min(t) && from <= type_max(t), "rb: random_ expects 'from' within the range of ",
              t, ", got from=", from);
  std::uint64_t range;
  if (to.has_value()) {
    TORCH_CHECK(from < *to, "rb: random_ expects from < to, got from=", from, " >= to=", *to);
    TORCH_CHECK(*to - 1 <= type_max(t), "rb: random_ expects 'to - 1' within the range of ", t,
                ", got to=", *to);
    range = static_cast<std::uint64_t>(*to) - static_cast<std::uint64_t>(from);
  } else {
    // [from, max]: the whole int64 range is 2^64 values, written as 0.
    range = static_cast<std::uint64_t>(type_max(t)) - static_cast<std::uint64_t>(from) + 1;
  }
  fill_random(self, from, range, gen, "random_");
  return self;
}

Tensor& random_to_(c10::DispatchKeySet ks, Tensor& self, std::int64_t to, OptGen gen) {
  if (!use_rb(gen, self, Fills::supported)) return at::_ops::random__to::redispatch(below(ks), self, to, gen);
  check_supported(self, "random_");
  TORCH_CHECK(to > 0, "rb: random_ expects to > 0, got to=", to);
  TORCH_CHECK(to - 1 <= type_max(self.scalar_type()), "rb: random_ expects 'to - 1' within the range of ",
              self.scalar_type(), ", got to=", to);
  fill_random(self, 0, static_cast<std::uint64_t>(to), gen, "random_");
  return self;
}

// ---- functional forms torch implements per backend -----------------------------------------------

Tensor& bernoulli_out(c10::DispatchKeySet ks, const Tensor& self, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::supported)) return at::_ops::bernoulli_out::redispatch(below(ks), self, gen, out);
  at::native::resize_output(out, self.sizes());
  return out.bernoulli_(self, gen);
}

// normal(mean, std) with tensor arguments: a standard normal of the broadcast shape, then
// out * std + mean as two elementwise ops (each correctly rounded on every device).
Tensor& normal_tensor_out(const Tensor& mean, const Tensor& std, const OptGen& gen, Tensor& out) {
  TORCH_CHECK(!std.is_complex() && (std.numel() == 0 || std.min().ge(0).item<bool>()),
              "rb: normal expects all elements of std >= 0.0");
  at::native::resize_output(out, at::infer_size(mean.sizes(), std.sizes()));
  out.normal_(0, 1, gen);
  return out.mul_(std).add_(mean);
}

Tensor normal_tt(c10::DispatchKeySet ks, const Tensor& mean, const Tensor& std, OptGen gen) {
  if (!use_rb(gen, mean, Fills::floating)) return at::_ops::normal_Tensor_Tensor::redispatch(below(ks), mean, std, gen);
  Tensor out = at::empty({0}, mean.options());
  return normal_tensor_out(mean, std, gen, out);
}
Tensor& normal_tt_out(c10::DispatchKeySet ks, const Tensor& mean, const Tensor& std, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::floating)) return at::_ops::normal_Tensor_Tensor_out::redispatch(below(ks), mean, std, gen, out);
  return normal_tensor_out(mean, std, gen, out);
}
Tensor normal_tf(c10::DispatchKeySet ks, const Tensor& mean, double std, OptGen gen) {
  if (!use_rb(gen, mean, Fills::floating)) return at::_ops::normal_Tensor_float::redispatch(below(ks), mean, std, gen);
  TORCH_CHECK(std >= 0.0, "rb: normal expects std >= 0.0, got std=", std);
  Tensor out = at::empty_like(mean, at::MemoryFormat::Contiguous);
  out.normal_(0, std, gen);
  return out.add_(mean);
}
Tensor& normal_tf_out(c10::DispatchKeySet ks, const Tensor& mean, double std, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::floating)) return at::_ops::normal_Tensor_float_out::redispatch(below(ks), mean, std, gen, out);
  TORCH_CHECK(std >= 0.0, "rb: normal expects std >= 0.0, got std=", std);
  at::native::resize_output(out, mean.sizes());
  out.normal_(0, std, gen);
  return out.add_(mean);
}
Tensor normal_ft(c10::DispatchKeySet ks, double mean, const Tensor& std, OptGen gen) {
  if (!use_rb(gen, std, Fills::floating)) return at::_ops::normal_float_Tensor::redispatch(below(ks), mean, std, gen);
  Tensor out = at::empty({0}, std.options());
  return normal_tensor_out(at::scalar_tensor(mean, std.options()), std, gen, out);
}
Tensor& normal_ft_out(c10::DispatchKeySet ks, double mean, const Tensor& std, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::floating)) return at::_ops::normal_float_Tensor_out::redispatch(below(ks), mean, std, gen, out);
  return normal_tensor_out(at::scalar_tensor(mean, std.options()), std, gen, out);
}

// ---- randperm -----------------------------------------------------------------------------------

// Note [randperm by sorting keys]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// randperm(n) draws n 64-bit keys (64-bit elements, so the call advances ceil(n / 2)) and returns
// the indices that sort them, as signed 64-bit integers, ascending, ties broken by index (a stable
// sort). Every device sorts the same keys into the same order, so the permutation is identical on
// the CPU and on any GPU; two keys tie with probability about n^2 / 2^65.

}  // namespace

void argsort_keys(const std::int64_t* keys, std::int64_t n, std::int64_t* out) {
  if (n <= 0) return;
  // Each key becomes one 64-bit word: its top 64 - b bits (as unsigned after flipping the sign
  // bit, which orders like signed), then its index in the low b = ceil(log2 n) bits. Sorting the
  // words sorts by key, ties by index. A stable LSD radix sort on the top bits that matter (about
  // log2 n of them, in passes of at most 11 bits: 2048 cache-friendly streams) orders them; the
  // few runs whose top bits agree (two keys share their top 64 - b bits with probability about
  // n^2 / 2^(65 - b)) are finished by an insertion sort on the full keys.
  int b = 1;
  while ((std::int64_t{1} << b) < n) ++b;
  const std::uint64_t index_mask = (std::uint64_t{1} << b) - 1;
  auto top = [](std::int64_t key) { return static_cast<std::uint64_t>(key) ^ (std::uint64_t{1} << 63); };
  std::uint64_t* a = reinterpret_cast<std::uint64_t*>(out);  // the output buffer holds the words
  for (std::int64_t i = 0; i < n; ++i) a[i] = (top(keys[i]) & ~index_mask) | static_cast<std::uint64_t>(i);
  std::vector<std::uint64_t> scratch(static_cast<std::size_t>(n));
  std::uint64_t* from = a;
  std::uint64_t* to = scratch.data();
  constexpr int kRadix = 11;
  // The top bits that almost surely tell keys apart, and never an index bit: past n = 2^20 the
  // word has fewer than 2b + 2 key bits, and then all of them are sorted.
  const int sorted_bits = std::min(64 - b, 2 * b + 2);
  for (int low = 64 - sorted_bits; low < 64; low += kRadix) {
    const int width = std::min(kRadix, 64 - low);
    const std::uint64_t mask = (std::uint64_t{1} << width) - 1;
    std::vector<std::int64_t> next((std::size_t{1} << width) + 1, 0);
    for (std::int64_t i = 0; i < n; ++i) ++next[((from[i] >> low) & mask) + 1];
    for (std::size_t d = 1; d < next.size(); ++d) next[d] += next[d - 1];
    for (std::int64_t i = 0; i < n; ++i) to[next[(from[i] >> low) & mask]++] = from[i];  // stable
    std::swap(from, to);
  }
  // Finish: insertion sort by (full key, index) inside the rare runs whose sorted top bits agree;
  // across different top bits the radix order is final.
  const int cut = 64 - sorted_bits;
  for (std::int64_t i = 1; i < n; ++i) {
    const std::uint64_t moving = from[i];
    if ((from[i - 1] >> cut) != (moving >> cut)) continue;
    const std::int64_t key = keys[moving & index_mask];
    std::int64_t j = i;
    for (; j > 0 && (from[j - 1] >> cut) == (moving >> cut); --j) {
      const std::uint64_t prev = from[j - 1];
      const std::int64_t prev_key = keys[prev & index_mask];
      if (prev_key < key || (prev_key == key && (prev & index_mask) < (moving & index_mask))) break;
      from[j] = prev;
    }
    from[j] = moving;
  }
  for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<std::int64_t>(from[i] & index_mask);
}

namespace {

Tensor& randperm_out(c10::DispatchKeySet ks, c10::SymInt n_sym, OptGen gen, Tensor& out) {
  if (!use_rb(gen, out, Fills::supported)) return at::_ops::randperm_generator_out::redispatch(below(ks), n_sym, gen, out);
  const std::int64_t n = n_sym.guard_int(__FILE__, __LINE__);
  TORCH_CHECK(n >= 0, "rb: randperm expects n >= 0, got n=", n);
  check_supported(out, "randperm");
  TORCH_CHECK(out.scalar_type() == at::kLong || n - 1 <= type_max(out.scalar_type()),
              "rb: randperm: n=", n, " is too large for dtype ", out.scalar_type());
  at::native::resize_output(out, {n});  // before drawing: a refused resize leaves the stream alone
  Tensor keys = at::empty({n}, out.options().dtype(at::kLong));
  fill_random(keys, std::numeric_limits<std::int64_t>::min(), 0, gen, "randperm");
  Tensor order;
  if (keys.is_cpu()) {  // O(n) on the CPU; the same order as the stable sort that CUDA runs
    order = at::empty({n}, keys.options());
    argsort_keys(keys.data_ptr<std::int64_t>(), n, order.data_ptr<std::int64_t>());
  } else {
    order = std::get<1>(keys.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  }
  return out.copy_(order);
}

// ---- multinomial --------------------------------------------------------------------------------

// Note [multinomial]
// ~~~~~~~~~~~~~~~~~~
// Rows of probabilities p (1-D: one row) are taken in float64. With replacement, sample s of row
// r is element r S + s of a 64-bit stream: v = min(u total, nextafter(total, 0)) with u uniform
// and total the row's sum, and the sample is the first category whose cumulative sum exceeds v
// (the cumulative sum runs in order on the CPU, so it is the same for every device). Without
// replacement, category c of row r is element r C + c: its key is E / p_c with E = -log(u) an
// exponential (u an open uniform; key +inf when p_c = 0), and the S categories of smallest keys
// are drawn, in the order of their keys (a stable sort): the exponential race, exact in law.
// Both advance the stream by a fixed amount: ceil(R S / 2) or ceil(R C / 2) outputs.

Tensor multinomial_impl(const Tensor& self, std::int64_t n_sample, bool replacement, const OptGen& gen) {
  TORCH_CHECK(self.dim() == 1 || self.dim() == 2, "rb: multinomial expects a 1-D or 2-D prob tensor, got ",
              self.dim(), "-D");
  TORCH_CHECK(at::isFloatingType(self.scalar_type()), "rb: multinomial expects a floating point prob tensor");
  TORCH_CHECK(n_sample > 0, "rb: multinomial expects num_samples > 0, got ", n_sample);
  const Tensor p = (self.dim() == 1 ? self.unsqueeze(0) : self).to(at::kDouble).contiguous();
  const std::int64_t rows = p.size(0), categories = p.size(1);
  TORCH_CHECK(categories > 0, "rb: multinomial expects at least one category");
  TORCH_CHECK(replacement || n_sample <= categories, "rb: multinomial cannot draw ", n_sample,
              " samples without replacement from ", categories, " categories");
  TORCH_CHECK(at::isfinite(p).all().item<bool>() && p.ge(0).all().item<bool>(),
              "rb: multinomial expects probabilities that are finite and >= 0");
  const Tensor nonzero = p.gt(0).sum(1);
  TORCH_CHECK(nonzero.gt(0).all().item<bool>(), "rb: multinomial: a row of probabilities sums to 0");
  Tensor result;
  if (replacement) {
    Tensor u = at::empty({rows, n_sample}, p.options());
    u.uniform_(0, 1, gen);
    const Tensor cdf = p.cpu().cumsum(1).to(p.device());  // in order, the same on every device
    const Tensor total = cdf.select(1, categories - 1).unsqueeze(1);
    const Tensor v = at::minimum(u.mul(total), at::nextafter(total, at::zeros_like(total)));
    result = at::searchsorted(cdf, v, /*out_int32=*/false, /*right=*/true);
  } else {
    TORCH_CHECK(nonzero.ge(n_sample).all().item<bool>(), "rb: multinomial: a row has fewer than ",
                n_sample, " categories of nonzero probability to draw without replacement");
    Tensor e = at::empty({rows, categories}, p.options());
    e.exponential_(1, gen);
    const Tensor keys = at::where(p.gt(0), e.div(p), std::numeric_limits<double>::infinity());
    result = std::get<1>(keys.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false)).narrow(1, 0, n_sample);
  }
  return self.dim() == 1 ? result.squeeze(0) : result;
}

Tensor multinomial(c10::DispatchKeySet ks, const Tensor& self, c10::SymInt n, bool replacement, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::multinomial::redispatch(below(ks), self, n, replacement, gen);
  return multinomial_impl(self, n.guard_int(__FILE__, __LINE__), replacement, gen).contiguous();
}
Tensor& multinomial_out(c10::DispatchKeySet ks, const Tensor& self, c10::SymInt n, bool replacement,
                        OptGen gen, Tensor& out) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::multinomial_out::redispatch(below(ks), self, n, replacement, gen, out);
  const Tensor result = multinomial_impl(self, n.guard_int(__FILE__, __LINE__), replacement, gen);
  at::native::resize_output(out, result.sizes());
  return out.copy_(result);
}

// ---- rrelu, dropout -----------------------------------------------------------------------------

// rrelu in training: for x <= 0, noise is uniform in [lower, upper) and the output x * noise;
// for x > 0, noise is 1. One uniform per element whatever the sign (a fixed advance).
Tensor& rrelu_noise_into(const Tensor& self, Tensor& noise, const at::Scalar& lower, const at::Scalar& upper,
                         const OptGen& gen, Tensor& out) {
  TORCH_CHECK(noise.sizes() == self.sizes(), "rb: rrelu_with_noise expects noise of the input's shape ",
              self.sizes(), ", got ", noise.sizes());
  Tensor u = at::empty(self.sizes(), self.options().memory_format(at::MemoryFormat::Contiguous));
  u.uniform_(lower.toDouble(), upper.toDouble(), gen);
  noise.copy_(at::where(self.le(0), u, at::ones_like(u)));
  return out.copy_(self.mul(noise));
}

Tensor rrelu_with_noise(c10::DispatchKeySet ks, const Tensor& self, Tensor& noise, const at::Scalar& lower,
                        const at::Scalar& upper, bool training, OptGen gen) {
  if (!training || !use_rb(gen, self, Fills::floating)) {
    return at::_ops::rrelu_with_noise::redispatch(below(ks), self, noise, lower, upper, training, gen);
  }
  Tensor out = at::empty_like(self);
  return rrelu_noise_into(self, noise, lower, upper, gen, out);
}
Tensor& rrelu_with_noise_out(c10::DispatchKeySet ks, const Tensor& self, Tensor& noise, const at::Scalar& lower,
                             const at::Scalar& upper, bool training, OptGen gen, Tensor& out) {
  if (!training || !use_rb(gen, self, Fills::floating)) {
    return at::_ops::rrelu_with_noise_out::redispatch(below(ks), self, noise, lower, upper, training, gen, out);
  }
  at::native::resize_output(out, self.sizes());
  return rrelu_noise_into(self, noise, lower, upper, gen, out);
}
Tensor& rrelu_with_noise_(c10::DispatchKeySet ks, Tensor& self, Tensor& noise, const at::Scalar& lower,
                          const at::Scalar& upper, bool training, OptGen gen) {
  if (!training || !use_rb(gen, self, Fills::floating)) {
    return at::_ops::rrelu_with_noise_::redispatch(below(ks), self, noise, lower, upper, training, gen);
  }
  return rrelu_noise_into(self.clone(), noise, lower, upper, gen, self);
}

// Dropout keeps each element with probability 1 - p: mask = bernoulli(1 - p) (32-bit elements),
// output = input * (mask / (1 - p)), the arithmetic of torch's composite dropout (what the CPU
// runs), so a philox block gives the same values whether dropout reaches this kernel (CUDA) or
// decomposes into bernoulli_ (CPU).
std::tuple<Tensor, Tensor> native_dropout(c10::DispatchKeySet ks, const Tensor& input, double p,
                                          std::optional<bool> train) {
  if (!use_rb(std::nullopt, input, Fills::floating) || (train.has_value() && !*train) || p == 0 ||
      input.numel() == 0) {
    return at::_ops::native_dropout::redispatch(below(ks), input, p, train);
  }
  TORCH_CHECK(0 <= p && p <= 1, "rb: dropout probability has to be between 0 and 1, but got ", p);
  Tensor mask = at::empty(input.sizes(), input.options().dtype(at::kBool));
  mask.bernoulli_(1 - p);
  if (p == 1) return {input.mul(at::zeros({}, input.options())), mask};
  return {input.mul(mask.to(input.scalar_type()).div_(1 - p)), mask};
}

// _fused_dropout(self, p): p is the probability to KEEP; mask is uint8.
std::tuple<Tensor, Tensor> fused_dropout(c10::DispatchKeySet ks, const Tensor& self, double p, OptGen gen) {
  if (!use_rb(gen, self, Fills::floating)) return at::_ops::_fused_dropout::redispatch(below(ks), self, p, gen);
  TORCH_CHECK(0 <= p && p <= 1, "rb: _fused_dropout expects a keep probability in [0, 1], got ", p);
  Tensor mask = at::empty(self.sizes(), self.options().dtype(at::kByte));
  mask.bernoulli_(p, gen);
  const double scale = p == 0 ? 0.0 : 1.0 / p;
  return {self.mul(mask).mul_(scale), mask};
}

// ---- ops rb does not cover ----------------------------------------------------------------------

/// Boxed kernel for random ops rb does not cover: refuses rb's generator (torch's kernel would
/// static_cast it to its own type), lets everything else through to torch.
void uncovered(const c10::OperatorHandle& op, c10::DispatchKeySet ks, torch::jit::Stack* stack) {
  const auto& args = op.schema().arguments();
  const std::size_t first = stack->size() - args.size();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const c10::IValue& v = (*stack)[first + i];
    if (v.isGenerator() && rb_generator_impl(v.toGenerator())) {
      throw Error("rb: " + op.schema().operator_name().name + " is not covered by rb's generator; " +
                  "call it with torch's generator (inside a block it holds the block's state).");
    }
  }
  op.redispatchBoxed(below(ks), stack);
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& fallback_ops() {
  static const std::string fused_attention =
      "fused attention: the kernel draws its dropout mask itself, from torch's generator (which "
      "holds the block's installed state)";
  static const std::string no_dropout_attention =
      "fused attention without dropout: tagged seeded, draws nothing";
  static const std::string library_rnn =
      "cuDNN / MIOpen RNN: the library keeps a dropout state that torch seeds from its generator";
  static const std::string mps = "MPS only: rb's kernels fill CPU and CUDA tensors";
  // Each op with the first torch minor version (2.x) that has it, within rb's supported window:
  // the list holds the random ops of the torch rb is built against, no more, no fewer.
  struct Listed {
    const char* name;
    const std::string* reason;
    int since_minor;
  };
  static const std::string rejection = "not covered (rejection sampling has no fixed advance): torch's generator";
  static const std::string chooses = "chooses an attention kernel; draws nothing";
  static const std::string nested = "a softmax of nested tensors: tagged seeded, draws nothing";
  static const Listed all[] = {
      {"_cudnn_attention_forward", &fused_attention, 11},
      {"_cudnn_attention_backward", &fused_attention, 11},
      {"_cudnn_attention_forward_no_dropout_inplace", &no_dropout_attention, 15},
      {"_efficient_attention_forward", &fused_attention, 11},
      {"_fill_mem_eff_dropout_mask_", &fused_attention, 11},
      {"_flash_attention_forward", &fused_attention, 11},
      {"_flash_attention_forward.quantized", &fused_attention, 11},
      {"_flash_attention_forward_no_dropout_inplace", &no_dropout_attention, 12},
      {"_scaled_dot_product_cudnn_attention", &fused_attention, 11},
      {"_scaled_dot_product_cudnn_attention_backward", &fused_attention, 11},
      {"_scaled_dot_product_efficient_attention", &fused_attention, 11},
      {"_scaled_dot_product_efficient_attention_backward", &fused_attention, 11},
      {"_scaled_dot_product_flash_attention", &fused_attention, 11},
      {"_scaled_dot_product_flash_attention.quantized", &fused_attention, 11},
      {"_scaled_dot_product_flash_attention_for_cpu", &fused_attention, 11},
      {"_triton_scaled_dot_attention", &fused_attention, 11},
      {"_fused_sdp_choice", &chooses, 11},
      {"_cudnn_init_dropout_state", &library_rnn, 11},
      {"_cudnn_rnn", &library_rnn, 11},
      {"miopen_rnn", &library_rnn, 11},
      {"_lstm_mps", &mps, 11},
      {"_scaled_dot_product_attention_math_for_mps", &mps, 11},
      {"_nested_tensor_softmax_with_shape", &nested, 11},
      {"poisson", &rejection, 11},
      {"binomial", &rejection, 11},
      {"_standard_gamma", &rejection, 11},
      {"_sample_dirichlet", &rejection, 11},
  };
  static const std::vector<std::pair<std::string, std::string>> ops = [] {
    std::vector<std::pair<std::string, std::string>> present;
    for (const Listed& op : all) {
      if (TORCH_VERSION_MINOR >= op.since_minor) present.emplace_back(op.name, *op.reason);
    }
    return present;
  }();
  return ops;
}

const std::vector<std::string>& uncovered_generator_ops() {
  static const std::vector<std::string> ops = {
      "poisson", "binomial", "_standard_gamma", "_sample_dirichlet"};
  return ops;
}

}  // namespace rb::detail

TORCH_LIBRARY_IMPL(aten, CustomRNGKeyId, m) {
  using namespace rb::detail;
  m.impl("uniform_", TORCH_FN(uniform_));
  m.impl("normal_", TORCH_FN(normal_));
  m.impl("log_normal_", TORCH_FN(log_normal_));
  m.impl("exponential_", TORCH_FN(exponential_));
  m.impl("cauchy_", TORCH_FN(cauchy_));
  m.impl("geometric_", TORCH_FN(geometric_));
  m.impl("bernoulli_.float", TORCH_FN(bernoulli_float_));
  m.impl("bernoulli_.Tensor", TORCH_FN(bernoulli_tensor_));
  m.impl("bernoulli.out", TORCH_FN(bernoulli_out));
  m.impl("random_", TORCH_FN(random_));
  m.impl("random_.from", TORCH_FN(random_from_));
  m.impl("random_.to", TORCH_FN(random_to_));
  m.impl("normal.Tensor_Tensor", TORCH_FN(normal_tt));
  m.impl("normal.Tensor_Tensor_out", TORCH_FN(normal_tt_out));
  m.impl("normal.Tensor_float", TORCH_FN(normal_tf));
  m.impl("normal.Tensor_float_out", TORCH_FN(normal_tf_out));
  m.impl("normal.float_Tensor", TORCH_FN(normal_ft));
  m.impl("normal.float_Tensor_out", TORCH_FN(normal_ft_out));
  m.impl("randperm.generator_out", TORCH_FN(randperm_out));
  m.impl("multinomial", TORCH_FN(multinomial));
  m.impl("multinomial.out", TORCH_FN(multinomial_out));
  m.impl("rrelu_with_noise", TORCH_FN(rrelu_with_noise));
  m.impl("rrelu_with_noise.out", TORCH_FN(rrelu_with_noise_out));
  m.impl("rrelu_with_noise_", TORCH_FN(rrelu_with_noise_));
  m.impl("native_dropout", TORCH_FN(native_dropout));
  m.impl("_fused_dropout", TORCH_FN(fused_dropout));
  for (const std::string& name : uncovered_generator_ops()) {
    m.impl(name.c_str(), torch::CppFunction::makeFromBoxedFunction<&uncovered>());
  }
}

// With a philox-engine block the calling thread includes CustomRNGKeyId in every op's dispatch
// keys: every op rb has no kernel for falls through to torch's (Note [Philox engine routing]).
TORCH_LIBRARY_IMPL(_, CustomRNGKeyId, m) { m.fallback(torch::CppFunction::makeFallthrough()); }

namespace rb::detail {
namespace {

// Note [Composite kernels at CustomRNGKeyId]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A CompositeExplicitAutograd kernel serves every backend key, CustomRNGKeyId included, and wins
// over a backend fallback. Inside a philox-engine block an op such as _foreach_add_ would then run
// its slow composite path instead of falling through to its fast CPU or CUDA kernel. So every
// aten op that is not random (no Generator argument, no nondeterministic_seeded tag) and has such
// a composite kernel gets an explicit fallthrough at CustomRNGKeyId: it runs exactly as outside
// the block. Random composite ops (rand, randn, randint, randperm, bernoulli.p, ...) keep their
// composite kernel, which decomposes into the in-place ops rb covers. Ops with a BackendSelect
// kernel (factories such as empty, _to_copy) keep theirs too: BackendSelect recomputes the
// dispatch keys from the thread's included set without the op's fallthrough mask, so it would
// land on the fallthrough itself (torch refuses to run one); their composite kernel is what their
// CPU or CUDA key runs anyway.

bool takes_generator(const c10::FunctionSchema& schema) {
  for (const auto& argument : schema.arguments()) {
    c10::TypePtr type = argument.type();
    if (type->kind() == c10::TypeKind::OptionalType) type = type->castRaw<c10::OptionalType>()->getElementType();
    if (type->kind() == c10::TypeKind::GeneratorType) return true;
  }
  return false;
}

const bool kCompositeFallthroughsRegistered = [] {
  static torch::Library library(torch::Library::IMPL, "aten", kKey, __FILE__, __LINE__);
  auto& dispatcher = c10::Dispatcher::singleton();
  for (const c10::OperatorName& name : dispatcher.getAllOpNames()) {
    if (name.name.rfind("aten::", 0) != 0) continue;
    const auto op = dispatcher.findOp(name);
    if (!op || !op->hasSchema() || op->hasKernelForDispatchKey(kKey)) continue;
    if (takes_generator(op->schema()) || op->hasTag(at::Tag::nondeterministic_seeded)) continue;
    if (op->hasKernelForDispatchKey(c10::DispatchKey::BackendSelect)) continue;
    if (!op->hasKernelForDispatchKey(c10::DispatchKey::CompositeExplicitAutograd) &&
        !op->hasKernelForDispatchKey(c10::DispatchKey::CompositeExplicitAutogradNonFunctional)) {
      continue;
    }
    const std::string short_name = name.name.substr(6) + (name.overload_name.empty() ? "" : "." + name.overload_name);
    library.impl(short_name.c_str(), torch::CppFunction::makeFallthrough());
  }
  return true;
}();

}  // namespace
}  // namespace rb::detail
