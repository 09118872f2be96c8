// Conv2dF32: validation, path and kernel choice and weight packing at prepare; the task grid at run.
#include <algorithm>

#include "engine/kernels/conv/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

// The transposed path keeps a [spatial x channels] tile per thread; only for small planes.
constexpr std::size_t kMaxTransposedPlane = 256;
// Extra cost of the transposed path (the final transpose), as a factor on padded work.
constexpr double kTransposeOverhead = 1.15;

struct Im2colSource {
  F32Im2colFn fn;
  const ConvGeom* geom;
  const float* x;
};

void pack_im2col(const void* ctx, std::size_t k0, std::size_t kc, std::size_t n0, std::size_t nc, std::size_t nr,
                 float* packed) {
  const auto* s = static_cast<const Im2colSource*>(ctx);
  s->fn(*s->geom, s->x, k0, kc, n0, nc, nr, packed);
}

// Row stride of the transposed path's [spatial][channels] tile: never a multiple of 4 KiB (cache
// set aliasing between the rows a micro-kernel stores and the transpose reads).
std::size_t tile_stride(std::size_t channels) { return round_up(channels, 16) + 16; }

double padded_cost(const F32GemmKernel& k, std::size_t m, std::size_t n) {
  return double(round_up(m, k.mr)) * double(round_up(n, k.nr)) / k.efficiency;
}

}  // namespace

Status check_conv2d_shape(const Conv2dShape& s) {
  if (s.batch == 0 || s.in_channels == 0 || s.out_channels == 0 || s.in_h == 0 || s.in_w == 0) {
    return invalid_argument("empty tensor");
  }
  if (s.kernel_h == 0 || s.kernel_w == 0 || s.stride_h == 0 || s.stride_w == 0 || s.dilation_h == 0 ||
      s.dilation_w == 0 || s.groups == 0) {
    return invalid_argument("kernel, strides, dilations and groups must be >= 1");
  }
  if (s.in_channels % s.groups != 0 || s.out_channels % s.groups != 0) {
    return invalid_argument("channels are not divisible by groups");
  }
  if (s.in_h + s.pad_top + s.pad_bottom < s.dilation_h * (s.kernel_h - 1) + 1 ||
      s.in_w + s.pad_left + s.pad_right < s.dilation_w * (s.kernel_w - 1) + 1) {
    return invalid_argument("the dilated kernel is larger than the padded input");
  }
  return Status();
}

Status Conv2dF32::prepare(const Conv2dShape& s, const float* weight, const float* bias, const ActivationParams& act,
                          Isa isa, const Choice& choice) {
  const std::string what = "Conv2d " + s.describe();
  SPARSIFY_RETURN_IF_ERROR(check_conv2d_shape(s).with_prefix(what));
  if (weight == nullptr) return invalid_argument(what, ": no weights");
  if ((choice.gemm != nullptr && choice.gemm->isa > isa) || (choice.dwconv != nullptr && choice.dwconv->isa > isa)) {
    return unsupported(what, ": a forced kernel needs more than ", isa_name(isa));
  }
  shape_ = s;
  act_ = act;
  geom_ = ConvGeom::of(s);
  gemms_.clear();
  gemm_t_ = GemmF32ConstRight();
  dw_weights_.clear();
  dw_bias_.clear();
  im2col_ = nullptr;
  dwconv_ = nullptr;
  const std::size_t khw = s.kernel_h * s.kernel_w;
  const bool depthwise_shape = s.groups > 1 && s.groups == s.in_channels && s.groups == s.out_channels;

  if (choice.force_path ? choice.path == Path::kDepthwise : depthwise_shape && choice.gemm == nullptr) {
    if (!depthwise_shape) return unsupported(what, ": not a depthwise convolution");
    const F32DwConvKernel* dw = choice.dwconv;
    for (const auto& row : f32_dwconv_kernels()) {
      if (dw == nullptr && row.isa <= isa) dw = &row;
    }
    dwconv_ = dw;
    path_ = Path::kDepthwise;
    dw_weights_.assign(weight, weight + s.out_channels * khw);
    dw_bias_.assign(s.out_channels, 0.0f);
    if (bias != nullptr) std::copy(bias, bias + s.out_channels, dw_bias_.begin());
    name_ = dwconv_->name;
    return Status();
  }

  const std::size_t mg = s.out_channels / s.groups, kg = s.in_channels / s.groups * khw;
  const std::size_t n = geom_.oh * geom_.ow;
  const F32GemmKernel* kernel = choice.gemm != nullptr ? choice.gemm : &select_f32_gemm(isa, mg, n, kg);
  const F32GemmKernel* kernel_t = choice.gemm != nullptr ? choice.gemm : &select_f32_gemm(isa, n, mg, kg);
  bool transposed = s.groups == 1 && n <= kMaxTransposedPlane &&
                    padded_cost(*kernel_t, n, mg) * kTransposeOverhead < padded_cost(*kernel, mg, n);
  if (choice.force_path) {
    transposed = choice.path == Path::kGemmTransposed;
    if (transposed && (s.groups != 1 || n > kMaxTransposedPlane)) {
      return unsupported(what, ": the transposed path needs groups == 1 and at most ", kMaxTransposedPlane, " outputs per plane");
    }
  }
  const Isa im2col_isa = transposed ? kernel_t->isa : kernel->isa;
  for (const auto& row : f32_im2col_kernels()) {
    if (im2col_ == nullptr && row.isa <= im2col_isa) im2col_ = &row;
  }
  if (im2col_ == nullptr) return internal_error(what, ": no im2col packer for ", isa_name(im2col_isa));

  if (transposed) {
    path_ = Path::kGemmTransposed;
    SPARSIFY_RETURN_IF_ERROR(gemm_t_.prepare(kg, mg, weight, /*w_transposed=*/true, bias, act, isa, n, kernel_t)
                                 .with_prefix(what));
    name_ = str_cat(kernel_t->name, " (transposed: im2col^T by ", im2col_->name, " x W^T, then NCHW)");
    return Status();
  }
  gemms_.resize(s.groups);
  for (std::size_t g = 0; g < s.groups; ++g) {
    SPARSIFY_RETURN_IF_ERROR(gemms_[g]
                                 .prepare(mg, kg, weight + g * mg * kg, bias == nullptr ? nullptr : bias + g * mg, act,
                                          isa, n, kernel)
                                 .with_prefix(what));
  }
  const bool pointwise = geom_.pointwise();
  path_ = pointwise ? Path::kGemm1x1 : Path::kGemmIm2col;
  name_ = str_cat(kernel->name, pointwise ? " (1x1: input rows packed directly by " : " (implicit im2col by ",
                  im2col_->name, ")");
  return Status();
}

std::size_t Conv2dF32::thread_scratch_bytes() const {
  switch (path_) {
    case Path::kDepthwise:
      return 0;
    case Path::kGemmTransposed:
      return gemm_t_.thread_scratch_bytes() +
             round_up(geom_.oh * geom_.ow * tile_stride(round_up(shape_.out_channels, gemm_t_.kernel().nr)) * sizeof(float),
                      kKernelAlignment);
    default:
      return gemms_.front().thread_scratch_bytes();
  }
}

std::size_t Conv2dF32::scratch_bytes(int threads) const {
  return thread_scratch_bytes() * static_cast<std::size_t>(std::max(1, threads));
}

void Conv2dF32::run(const float* x, float* y, void* scratch, ThreadPool& pool) const {
  run_batch(shape_.batch, x, y, scratch, pool);
}

void Conv2dF32::run_transposed(std::size_t batch, const float* x, float* y, void* scratch, ThreadPool& pool) const {
  const std::size_t m = shape_.out_channels, n = geom_.oh * geom_.ow;
  const std::size_t mr = gemm_t_.kernel().mr, nr = gemm_t_.kernel().nr;
  const std::size_t sb = ceil_div(n, mr), cb = ceil_div(m, nr);  // spatial blocks, channel blocks
  const int threads = pool.threads();
  const int parts = batch % static_cast<std::size_t>(threads) == 0 ? 1 : threads;
  const std::size_t per_thread = thread_scratch_bytes(), gemm_bytes = gemm_t_.thread_scratch_bytes();
  pool.parallel_for(static_cast<std::int64_t>(batch) * parts, [&](std::int64_t task, int thread) {
    const std::size_t b = static_cast<std::size_t>(task) / static_cast<std::size_t>(parts);
    GridRect rect[3];
    // The packed operand is the spatial one (im2col^T), so spatial blocks are the grid's N side.
    const int count = split_grid(sb, cb, static_cast<int>(task % parts), parts, rect);
    for (int r = 0; r < count; ++r) {
      const std::size_t s0 = rect[r].n0 * mr, s1 = std::min(n, rect[r].n1 * mr);
      const std::size_t c0 = rect[r].m0 * nr, c1 = std::min(m, rect[r].m1 * nr);
      transposed_block(b, s0, s1, c0, c1, x, y, static_cast<char*>(scratch) + per_thread * static_cast<std::size_t>(thread),
                       gemm_bytes);
    }
  });
}

void Conv2dF32::transposed_block(std::size_t b, std::size_t s0, std::size_t s1, std::size_t c0, std::size_t c1,
                                 const float* x, float* y, char* base, std::size_t gemm_bytes) const {
  const std::size_t c = shape_.in_channels, m = shape_.out_channels;
  const std::size_t in_plane = geom_.h * geom_.w, n = geom_.oh * geom_.ow;
  float* tile = reinterpret_cast<float*>(base + gemm_bytes);  // [s1 - s0][ldt]
  const std::size_t ldt = tile_stride(c1 - c0);
  const Im2colSource ctx{im2col_->fn, &geom_, x + b * c * in_plane};
  gemm_t_.run_block_source(s0, s1, c0, c1, F32PanelSource{&pack_im2col, &ctx}, tile, ldt, reinterpret_cast<float*>(base));
  float* yb = y + b * m * n;
  for (std::size_t ch = c0; ch < c1; ++ch) {
    float* out = yb + ch * n;
    for (std::size_t sp = s0; sp < s1; ++sp) out[sp] = tile[(sp - s0) * ldt + (ch - c0)];
  }
}

void Conv2dF32::run_batch(std::size_t batch, const float* x, float* y, void* scratch, ThreadPool& pool) const {
  const std::size_t c = shape_.in_channels, m = shape_.out_channels, g_count = shape_.groups;
  const std::size_t in_plane = geom_.h * geom_.w, out_plane = geom_.oh * geom_.ow;
  const std::size_t per_thread = thread_scratch_bytes();
  auto thread_scratch = [&](int thread) {
    return reinterpret_cast<float*>(static_cast<char*>(scratch) + per_thread * static_cast<std::size_t>(thread));
  };

  if (path_ == Path::kGemmTransposed) {
    run_transposed(batch, x, y, scratch, pool);
    return;
  }
  if (path_ == Path::kDepthwise) {
    const float lo = act_.lo(), hi = act_.hi();
    const std::size_t khw = geom_.kh * geom_.kw;
    pool.parallel_for(static_cast<std::int64_t>(batch * c), [&](std::int64_t task, int) {
      const std::size_t plane = static_cast<std::size_t>(task), ch = plane % c;
      dwconv_->fn(geom_, x + plane * in_plane, dw_weights_.data() + ch * khw, dw_bias_[ch], y + plane * out_plane, lo, hi);
    });
    return;
  }

  const GemmF32ConstLeft& g0 = gemms_.front();
  const std::size_t mg = m / g_count, cg = c / g_count;
  const std::size_t mr = g0.kernel().mr, nr = g0.kernel().nr;
  const std::size_t mb = ceil_div(mg, mr), nb = ceil_div(out_plane, nr);
  const std::size_t units = batch * g_count;
  const int threads = pool.threads();
  const int parts = units % static_cast<std::size_t>(threads) == 0 ? 1 : threads;
  pool.parallel_for(static_cast<std::int64_t>(units) * parts, [&](std::int64_t task, int thread) {
    const std::size_t unit = static_cast<std::size_t>(task) / static_cast<std::size_t>(parts);
    const std::size_t b = unit / g_count, g = unit % g_count;
    const Im2colSource ctx{im2col_->fn, &geom_, x + (b * c + g * cg) * in_plane};
    GridRect rect[3];
    const int count = split_grid(nb, mb, static_cast<int>(task % parts), parts, rect);
    for (int r = 0; r < count; ++r) {
      gemms_[g].run_block(rect[r].m0 * mr, std::min(mg, rect[r].m1 * mr), rect[r].n0 * nr,
                          std::min(out_plane, rect[r].n1 * nr), F32PanelSource{&pack_im2col, &ctx},
                          y + (b * m + g * mg) * out_plane, out_plane, thread_scratch(thread));
    }
  });
}

}  // namespace sparsify::engine
