// Reads Random123's known-answer vectors for Philox4x32 from the file Debian installs
// (librandom123-doc), or from $RB_KAT_VECTORS, so that the vectors never enter the repository.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "rb/philox.hpp"

namespace rb::test {

/// One `philox4x32 R ctr0..3 key0..1 out0..3` line of kat_vectors.
struct KatVector {
  unsigned rounds;
  Counter counter;
  Key key;
  Counter expected;
};

/// The path of kat_vectors(.gz): $RB_KAT_VECTORS, else the path found at configure time.
inline std::string kat_path() {
  if (const char* env = std::getenv("RB_KAT_VECTORS"); env && *env) return env;
  return RB_KAT_VECTORS_DEFAULT;
}

/// Every philox4x32 line of the file (gzip-compressed or plain). Throws when the file is missing.
inline std::vector<KatVector> read_philox4x32_kat(const std::string& path) {
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  const std::string command = (gz ? "gzip -dc '" : "cat '") + path + "' 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  if (pclose(pipe) != 0 || text.empty()) {
    throw std::runtime_error("cannot read Random123's known-answer vectors at " + path +
                             ": install librandom123-doc or set RB_KAT_VECTORS");
  }
  std::vector<KatVector> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string name;
    in >> name;
    if (name != "philox4x32") continue;
    KatVector v{};
    in >> std::dec >> v.rounds >> std::hex;
    for (auto& w : v.counter.v) in >> w;
    for (auto& w : v.key.v) in >> w;
    for (auto& w : v.expected.v) in >> w;
    if (!in) throw std::runtime_error("malformed known-answer line: " + line);
    out.push_back(v);
  }
  return out;
}

}  // namespace rb::test
