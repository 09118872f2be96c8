// The implicit-im2col walk shared by the per-ISA packers. Included INSIDE each ISA translation
// unit's anonymous namespace (after <cstddef>), so every TU gets its own copy compiled with its
// own flags. `Ops` supplies:
//   static void run(float* dst, const float* row, std::ptrdiff_t ix0, std::size_t n, std::size_t w,
//                   std::size_t stride);   // dst[i] = row[ix0 + i*stride] if in [0, w), else 0
//   static void copy(float* dst, const float* src, std::size_t n);   // in-bounds, stride 1
//   static void copy_s2(float* dst, const float* src, std::size_t n); // in-bounds, dst[i] = src[2i]
//   static void zero(float* dst, std::size_t n);
//
// A panel's nr columns are cut once into runs that stay on one output row ("segments"); each k
// (c, ki, kj, advanced incrementally: no divisions per row) then copies one run per segment.

constexpr std::size_t kMaxSegments = 64;  // nr <= 64 columns, so at most 64 output rows per panel

template <class Ops>
void im2col_walk(const ConvGeom& g, const float* x, std::size_t k0, std::size_t kc, std::size_t n0, std::size_t nc,
                 std::size_t nr, float* packed) {
  const std::size_t plane = g.h * g.w;
  const bool pointwise = g.kh * g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h &&
                         g.ow == g.w;
  struct Segment {
    std::size_t t0, len;
    std::ptrdiff_t iy0, ix0;  // input coordinates of the run's first element for ki = kj = 0
  };
  Segment seg[kMaxSegments];
  const std::ptrdiff_t h = static_cast<std::ptrdiff_t>(g.h), w = static_cast<std::ptrdiff_t>(g.w);
  const std::ptrdiff_t dh = static_cast<std::ptrdiff_t>(g.dh), dw = static_cast<std::ptrdiff_t>(g.dw);
  for (std::size_t j = 0; j * nr < nc; ++j) {
    const std::size_t pn0 = n0 + j * nr, cols = nc - j * nr < nr ? nc - j * nr : nr;
    float* panel = packed + j * kc * nr;
    if (pointwise) {
      for (std::size_t kk = 0; kk < kc; ++kk) {
        Ops::copy(panel + kk * nr, x + (k0 + kk) * plane + pn0, cols);
        if (cols < nr) Ops::zero(panel + kk * nr + cols, nr - cols);
      }
      continue;
    }
    std::size_t n_seg = 0;
    for (std::size_t t = 0, oy = pn0 / g.ow, ox = pn0 % g.ow; t < cols; ++oy, ox = 0) {
      const std::size_t len = cols - t < g.ow - ox ? cols - t : g.ow - ox;
      seg[n_seg++] = Segment{t, len, static_cast<std::ptrdiff_t>(oy * g.sh) - static_cast<std::ptrdiff_t>(g.pt),
                             static_cast<std::ptrdiff_t>(ox * g.sw) - static_cast<std::ptrdiff_t>(g.pl)};
      t += len;
    }
    std::size_t c = k0 / (g.kh * g.kw), ki = k0 % (g.kh * g.kw) / g.kw, kj = k0 % g.kw;
    for (std::size_t kk = 0; kk < kc; ++kk) {
      const float* xc = x + c * plane;
      float* dst = panel + kk * nr;
      const std::ptrdiff_t oy_off = static_cast<std::ptrdiff_t>(ki) * dh, ox_off = static_cast<std::ptrdiff_t>(kj) * dw;
      for (std::size_t s = 0; s < n_seg; ++s) {
        const std::ptrdiff_t iy = seg[s].iy0 + oy_off;
        if (iy < 0 || iy >= h) {
          Ops::zero(dst + seg[s].t0, seg[s].len);
          continue;
        }
        const std::ptrdiff_t ix0 = seg[s].ix0 + ox_off;
        const float* row = xc + iy * w;
        if (g.sw == 1 && ix0 >= 0 && ix0 + static_cast<std::ptrdiff_t>(seg[s].len) <= w) {
          Ops::copy(dst + seg[s].t0, row + ix0, seg[s].len);
        } else if (g.sw == 2 && ix0 >= 0 && ix0 + 2 * static_cast<std::ptrdiff_t>(seg[s].len) - 1 <= w) {
          Ops::copy_s2(dst + seg[s].t0, row + ix0, seg[s].len);
        } else {
          Ops::run(dst + seg[s].t0, row, ix0, seg[s].len, g.w, g.sw);
        }
      }
      if (cols < nr) Ops::zero(dst + cols, nr - cols);
      if (++kj == g.kw) {
        kj = 0;
        if (++ki == g.kh) {
          ki = 0;
          ++c;
        }
      }
    }
  }
}
