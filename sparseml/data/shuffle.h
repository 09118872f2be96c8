// Deterministic, platform-independent shuffling of example indices from a seed and an epoch number.
#pragma once

#include <cstdint>
#include <vector>

namespace sparsify::ml::data {

/// SplitMix64 (ref: Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators"):
/// advances `*state` and returns the next 64-bit output. Pure; the same on every platform.
std::uint64_t splitmix64(std::uint64_t* state);

/// A uniform integer in [0, bound) from splitmix64, without modulo bias (rejection sampling).
/// `bound` must be > 0.
std::uint64_t uniform_below(std::uint64_t* state, std::uint64_t bound);

/// The order of examples 0..n-1 in `epoch`: a Fisher-Yates shuffle driven by splitmix64 seeded from
/// (seed, epoch). The same (n, seed, epoch) gives the same order on every run, compiler and platform
/// (std::shuffle is not used: its algorithm is unspecified). Every index appears exactly once.
/// Thread-safe; returns a new vector.
std::vector<std::int64_t> shuffled_indices(std::int64_t n, std::uint64_t seed, std::int64_t epoch);

}  // namespace sparsify::ml::data
