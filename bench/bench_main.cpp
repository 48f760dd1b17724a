// main() of rb_bench: Google Benchmark's, plus what every figure must name, recorded in the
// context of the console and JSON output: the CPU model and the instruction set that rb's CPU
// kernels ran with (RB_CPU_ISA, or the best one this CPU has).
#include <cstdio>
#include <fstream>
#include <string>

#include <benchmark/benchmark.h>

#include "fill.hpp"
#include "rb/block.hpp"

namespace {

/// The value of the first `key` line of /proc/cpuinfo ("model name : ..."), or "unknown".
std::string cpuinfo(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || line.compare(0, key.size(), key) != 0) continue;
    if (line.find_first_not_of(" \t", key.size()) != colon) continue;  // "model" vs "model name"
    const auto value = line.find_first_not_of(' ', colon + 1);
    return value == std::string::npos ? "" : line.substr(value);
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  namespace d = rb::detail;
  try {
    benchmark::AddCustomContext("rb_cpu_isa", d::cpu_isa_name(d::cpu_isa()));
  } catch (const rb::Error& e) {  // a bad RB_CPU_ISA
    std::fprintf(stderr, "rb_bench: %s\n", e.what());
    return 2;
  }
  std::string isas;
  for (d::Isa isa : {d::Isa::scalar, d::Isa::avx2, d::Isa::avx512}) {
    if (d::cpu_supports(isa)) isas += std::string(isas.empty() ? "" : " ") + d::cpu_isa_name(isa);
  }
  benchmark::AddCustomContext("rb_cpu_isas_supported", isas);
  // Virtual machines often report a generic model name; family/model/stepping say more.
  benchmark::AddCustomContext("cpu_model", cpuinfo("model name"));
  benchmark::AddCustomContext("cpu_family_model_stepping",
                              cpuinfo("cpu family") + "/" + cpuinfo("model") + "/" + cpuinfo("stepping"));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
