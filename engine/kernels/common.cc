// Shared kernel helpers: activation names and the thread split of a tile grid.
#include "engine/kernels/common.h"

namespace sparsify::engine {

const char* activation_name(Activation kind) {
  switch (kind) {
    case Activation::kNone: return "none";
    case Activation::kRelu: return "relu";
    case Activation::kRelu6: return "relu6";
    case Activation::kClip: return "clip";
  }
  return "?";
}

int split_grid(std::size_t n_blocks, std::size_t m_blocks, int part, int parts, GridRect out[3]) {
  const std::size_t total = n_blocks * m_blocks;
  if (total == 0 || parts <= 0) return 0;
  const std::size_t u0 = total * static_cast<std::size_t>(part) / static_cast<std::size_t>(parts);
  const std::size_t u1 = total * static_cast<std::size_t>(part + 1) / static_cast<std::size_t>(parts);
  if (u0 >= u1) return 0;
  std::size_t p0 = u0 / m_blocks;
  const std::size_t a = u0 % m_blocks, p1 = u1 / m_blocks, b = u1 % m_blocks;
  if (p0 == p1) {
    out[0] = GridRect{p0, p0 + 1, a, b};
    return 1;
  }
  int count = 0;
  if (a > 0) {
    out[count++] = GridRect{p0, p0 + 1, a, m_blocks};
    ++p0;
  }
  if (p1 > p0) out[count++] = GridRect{p0, p1, 0, m_blocks};
  if (b > 0) out[count++] = GridRect{p1, p1 + 1, 0, b};
  return count;
}

}  // namespace sparsify::engine
