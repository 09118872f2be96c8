// Plain C++ int8 SpMM: the scalar table row (the oracle for whole products is qgemm_reference /
// qconv2d_reference on the dense weights).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/qspmm/family.h"

namespace sparsify::engine {

void qu8s8_spmm_1x8c4__scalar(std::size_t rows, std::size_t nr, const std::uint32_t* row_blocks,
                              const std::int32_t* weights, const std::int32_t* offsets, const std::uint8_t* b, void* c,
                              std::size_t ldc, const QGemmUkernelParams& p) {
  const bool u8 = (p.flags & kQGemmOutputU8) != 0;
  for (std::size_t r = 0; r < rows; ++r) {
    std::int32_t acc[8] = {};
    const std::uint32_t nb = row_blocks[r];
    for (std::uint32_t j = 0; j < nb; ++j) {
      std::int8_t w[4];
      std::memcpy(w, &weights[j], 4);
      const std::uint8_t* row = b + offsets[j];
      for (std::size_t col = 0; col < nr; ++col)
        for (int t = 0; t < 4; ++t) acc[col] += std::int32_t(row[col * 4 + t]) * std::int32_t(w[t]);
    }
    weights += nb;
    offsets += nb;
    // The dense rows' epilogue (qgemm/reference.cc store_one), per row channel.
    for (std::size_t col = 0; col < nr; ++col) {
      const std::int32_t v = acc[col] + p.bias[r];
      if (u8) {
        float f = static_cast<float>(v) * p.scale[r];
        f = std::min(std::max(f, static_cast<float>(p.y_min - p.y_zero)), static_cast<float>(p.y_max - p.y_zero));
        static_cast<std::uint8_t*>(c)[r * ldc + col] =
            static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(f)) + p.y_zero);
      } else {
        static_cast<std::int32_t*>(c)[r * ldc + col] = v;
      }
    }
  }
}

void u8_transpose__scalar(std::size_t rows, std::size_t cols, const std::uint8_t* src, std::size_t lds,
                          std::uint8_t* dst, std::size_t ldd) {
  for (std::size_t c = 0; c < cols; ++c)
    for (std::size_t r = 0; r < rows; ++r) dst[c * ldd + r] = src[r * lds + c];
}

void u8_transpose_dequant__scalar(std::size_t rows, std::size_t cols, const std::uint8_t* src, std::size_t lds,
                                  const QDequantizeOut& d, std::size_t j0, float* dst, std::size_t ldd) {
  for (std::size_t c = 0; c < cols; ++c)
    for (std::size_t r = 0; r < rows; ++r) {
      const float y = static_cast<float>(std::int32_t(src[r * lds + c]) - d.zero) * d.scale;
      dst[c * ldd + r] = d.bias != nullptr ? y + d.bias[j0 + r] : y;
    }
}

}  // namespace sparsify::engine
