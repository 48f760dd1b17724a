// Prints the golden table of rb::path, its string hash and rank_key (Note [Ranks and paths]).
// CTest builds it at two optimisation levels and with a second compiler and compares each output
// with tests/golden/path.txt, which tests/python/test_paths.py checks from Python too. Parts are
// written `i:<decimal>` (an integer) and `s:<hex of the bytes>` (a string).
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>

#include "rb/core.hpp"

namespace {

std::string hex(std::string_view bytes) {
  std::string out;
  char buf[3];
  for (unsigned char c : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

std::string part(std::uint64_t x) { return " i:" + std::to_string(x); }
std::string part(std::string_view s) { return " s:" + hex(s); }

template <class... Parts>
void print_path(const Parts&... parts) {
  std::string shown;
  ((shown += part(parts)), ...);
  std::printf("path%s = %016" PRIx64 "\n", shown.c_str(), rb::path(parts...));
}

}  // namespace

int main() {
  using namespace std::string_view_literals;
  // Lengths around the 8-byte chunks, an embedded and a trailing zero byte, UTF-8.
  for (std::string_view s : {""sv, "a"sv, "1"sv, "ab"sv, "ab\0"sv, "a\0b"sv, "abcdefg"sv,
                             "abcdefgh"sv, "abcdefghi"sv, "abcdefghijklmnop"sv,
                             "abcdefghijklmnopq"sv, "augment"sv, "encoder"sv,
                             "\xc3\xa9t\xc3\xa9"sv /* "été" */}) {
    std::printf("string_hash %s = %016" PRIx64 "\n", s.empty() ? "-" : hex(s).c_str(),
                rb::detail::string_hash(s));
  }

  const std::uint64_t max = ~std::uint64_t{0};
  print_path(std::uint64_t{0});
  print_path(std::uint64_t{1});
  print_path("1"sv);
  print_path(""sv);
  print_path(std::uint64_t{5});
  print_path(std::uint64_t{5}, std::uint64_t{5});
  print_path(std::uint64_t{1} << 32);
  print_path(max);
  print_path("encoder"sv);
  print_path("encoder"sv, "layer"sv, std::uint64_t{3});
  print_path("augment"sv, std::uint64_t{0}, std::uint64_t{0});
  print_path("augment"sv, std::uint64_t{0}, std::uint64_t{1});
  print_path("augment"sv, std::uint64_t{1}, std::uint64_t{0});
  print_path("augment"sv, std::uint64_t{7}, std::uint64_t{123456789});
  print_path("dropout"sv, std::uint64_t{3});
  print_path("ab\0"sv);
  print_path("\xc3\xa9t\xc3\xa9"sv, max, ""sv, std::uint64_t{0}, "abcdefghi"sv);

  for (std::uint64_t block_seed : {std::uint64_t{5}, rb::path("dropout", 3)}) {
    const rb::Key key = rb::derive_key(42, block_seed);
    for (std::uint32_t rank : {0u, 1u, 2u, 7u, 0xfffffffeu}) {
      std::printf("rank_key %016" PRIx64 " %u = %016" PRIx64 "\n", rb::key_value(key), rank,
                  rb::key_value(rb::rank_key(key, rank)));
    }
  }
  return 0;
}
