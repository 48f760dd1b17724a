// The first line of a trace: what in the environment can make two runs draw differently.
// See Note [Trace format] in src/trace.cpp.
#include <cstdlib>
#include <optional>
#include <string>

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/headeronly/version.h>

#if RB_TORCH_CUDA
#include <ATen/cuda/CUDAContextLight.h>
#endif

#include "audit.hpp"
#include "fill.hpp"
#include "rb/ranks.hpp"
#include "rb/stream.hpp"
#include "torch_state.hpp"

#ifndef RB_VERSION
#error "RB_VERSION (rb's project version) is defined by cmake/rb_torch.cmake"
#endif

namespace rb::detail {
namespace {

// `name` with `value` or null (when torch cannot tell: no CUDA build, no cuDNN).
void member(std::string& out, const char* name, const std::optional<long>& value) {
  out += ",\"";
  out += name;
  out += "\":";
  out += value ? std::to_string(*value) : "null";
}

template <class F>
std::optional<long> ask(F f) {
  try {
    return f();
  } catch (const std::exception&) {  // torch without its CUDA half throws
    return std::nullopt;
  }
}

// The model of every CUDA device, as a JSON array (asks the CUDA runtime; creates no context).
std::string gpus() {
  std::string out = "[";
#if RB_TORCH_CUDA
  for (int d = 0; d < cuda_device_count(); ++d) {
    if (d > 0) out += ",";
    try {
      append_json_string(out, at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(d))->name);
    } catch (const std::exception&) {
      out += "null";
    }
  }
#endif
  return out + "]";
}

}  // namespace

std::string environment_members(std::optional<std::uint64_t> initial_seed) {
  const at::Context& ctx = at::globalContext();
  const at::CUDAHooksInterface& cuda = at::detail::getCUDAHooks();
  std::string out = "\"rb\":";
  append_json_string(out, RB_VERSION);
  out += ",\"stream_version\":" + std::to_string(kStreamVersion);
  out += ",\"torch\":";
  append_json_string(out, TORCH_VERSION);
  member(out, "cuda_runtime", ask([&] { return cuda.versionCUDART(); }));
  member(out, "cudnn", ask([&]() -> std::optional<long> {
           if (!cuda.hasCuDNN()) return std::nullopt;
           return cuda.versionCuDNN();
         }));
  out += ",\"gpus\":" + gpus();
  out += ",\"cpu_isa\":";
  append_json_string(out, cpu_isa_name(cpu_isa()));
  out += std::string(",\"deterministic_algorithms\":") +
         (ctx.deterministicAlgorithms() ? "true" : "false");
  out += std::string(",\"cudnn_benchmark\":") + (ctx.benchmarkCuDNN() ? "true" : "false");
  out += std::string(",\"cudnn_deterministic\":") + (ctx.deterministicCuDNN() ? "true" : "false");
  out += ",\"PYTHONHASHSEED\":";
  const char* hash_seed = std::getenv("PYTHONHASHSEED");
  if (hash_seed != nullptr) {
    append_json_string(out, hash_seed);
  } else {
    out += "null";
  }
  out += ",\"initial_seed\":" + (initial_seed ? std::to_string(*initial_seed) : std::string("null"));
  const std::optional<RankInfo> rank = known_rank();
  out += ",\"rank\":" + (rank ? std::to_string(rank->rank) : std::string("null"));
  out += ",\"world_size\":" + (rank ? std::to_string(rank->world_size) : std::string("null"));
  return out;
}

}  // namespace rb::detail
