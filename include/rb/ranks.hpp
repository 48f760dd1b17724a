// Ranks of a distributed job: rb::set_rank and rb::Ranks, the Block argument that gives each rank
// its own streams. The derivation is Note [Ranks and paths] in rb/path.hpp.
#pragma once

#include <cstdint>
#include <optional>

namespace rb {

/// Whether a block draws the same numbers on every rank of a distributed job.
enum class Ranks {
  replicated,  ///< the same streams on every rank (the default): model initialisation, data order
  distinct,    ///< each rank its own streams, from the block's key and the rank (rb::set_rank)
};

/// This process's place in a distributed job, as rb::set_rank received it.
struct RankInfo {
  std::uint32_t rank;
  std::uint32_t world_size;
};

/// Tells rb this process's rank in a job of `world_size` processes (process-wide; a later call
/// replaces it), for blocks of rb::Ranks::distinct. Throws rb::Error, changing nothing, unless
/// 1 <= world_size < 2^32 and 0 <= rank < world_size (signed, so that a negative rank is an
/// error rather than a wrapped-around unsigned one).
///
///     rb::set_rank(std::stoi(std::getenv("RANK")), std::stoi(std::getenv("WORLD_SIZE")));
///     { rb::Block b(7, rb::Ranks::distinct); dropout(x); }  // another mask on every rank
void set_rank(std::int64_t rank, std::int64_t world_size);

/// What the last rb::set_rank received; nothing before the first.
std::optional<RankInfo> known_rank() noexcept;

}  // namespace rb
