// rb::set_rank: the process's rank, for blocks of rb::Ranks::distinct (Note [Ranks and paths]).
#include "rb/ranks.hpp"

#include <mutex>
#include <string>

#include "rb/error.hpp"

namespace rb {
namespace {

std::mutex g_rank_mutex;
std::optional<RankInfo> g_rank;  // guarded by g_rank_mutex

}  // namespace

void set_rank(std::int64_t rank, std::int64_t world_size) {
  const std::string call =
      "rb::set_rank(" + std::to_string(rank) + ", " + std::to_string(world_size) + "): ";
  constexpr std::int64_t kMaxWorldSize = 0xffffffff;  // RankInfo holds 32-bit values
  if (world_size < 1 || world_size > kMaxWorldSize) {
    throw Error(call + "the world size must be in [1, 2^32 - 1]: pass the number of processes of "
                       "the job (WORLD_SIZE under torchrun).");
  }
  if (rank < 0 || rank >= world_size) {
    throw Error(call + "the rank must be in [0, world_size): pass this process's rank (RANK under "
                       "torchrun).");
  }
  std::lock_guard<std::mutex> lock(g_rank_mutex);
  g_rank = RankInfo{static_cast<std::uint32_t>(rank), static_cast<std::uint32_t>(world_size)};
}

std::optional<RankInfo> known_rank() noexcept {
  std::lock_guard<std::mutex> lock(g_rank_mutex);
  return g_rank;
}

}  // namespace rb
