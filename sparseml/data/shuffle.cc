// Splitmix64 and Fisher-Yates: a shuffle whose output is fixed by its inputs alone.
#include "sparseml/data/shuffle.h"

#include <numeric>
#include <utility>

namespace sparsify::ml::data {

std::uint64_t splitmix64(std::uint64_t* state) {
  std::uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t uniform_below(std::uint64_t* state, std::uint64_t bound) {
  // Values below `threshold` would make r % bound favour small results; 2^64 mod bound of them.
  const std::uint64_t threshold = (0 - bound) % bound;
  while (true) {
    const std::uint64_t r = splitmix64(state);
    if (r >= threshold) return r % bound;
  }
}

std::vector<std::int64_t> shuffled_indices(std::int64_t n, std::uint64_t seed, std::int64_t epoch) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n > 0 ? n : 0));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  // Mix seed and epoch through two splitmix steps so nearby (seed, epoch) pairs give unrelated streams.
  std::uint64_t s = seed;
  std::uint64_t mixed = splitmix64(&s) ^ static_cast<std::uint64_t>(epoch);
  std::uint64_t state = splitmix64(&mixed);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(uniform_below(&state, static_cast<std::uint64_t>(i) + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

}  // namespace sparsify::ml::data
