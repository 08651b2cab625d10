// The conv weight gradient without im2col (Module 15), for a horizontal stride
// of 1 on the AVX2 pair tile. See conv.cpp for the im2col + sgemm path, which
// every other geometry and build still takes.
//
//   grad_w^T (K, F) = sum over images n and pixels p of cols[n] (K, P) @ grad_out[n]^T (P, F)
//
// with K = C*KH*KW rows (c, kh, kw). The GEMM packs its A operand, cols, into
// 12-row slivers: a transpose of 12 cols rows. Built by im2col first, every
// cols element is written once and read back once more before the packing
// reads it: on the 32x32 layer (N=32, 64->64, one thread) im2col took 18% of
// the weight gradient and the A packing 8% (perf). But a cols row (c, kh, kw)
// over one output row oh is just OW consecutive floats of the zero-padded
// image, row (oh*stride_h + kh*dil_h), column offset kw*dil_w. So the slivers
// are transposed straight out of a padded slab of the image (fill_slab, as in
// the direct convolution), 12 such row pointers at a time, and cols never
// exists. Each item is a range of whole output rows of one image (at least
// 256 pixels: deep enough for the pair tile, at most KC so a B sliver stays in
// L1); each thread adds its items into a private grad_w^T.
#include <algorithm>
#include <vector>

#include "conv_common.h"
#include "gemm_pack.h"
#include "kernels.h"
#include "simd.h"

namespace tinytorch {
using namespace conv_detail;

#ifdef TINYTORCH_GEMM_PAIRS
namespace {
// Output rows per item: at least 256 pixels, at most KC of them (0: no such range).
int64_t rows_per_item(const Conv2dShape& s) {
    const int64_t kc = gemm_blocking().kc;
    if (s.OH <= 0 || s.OW <= 0 || s.OW > kc) return 0;
    return std::clamp<int64_t>(ceil_div(256, s.OW), 1, std::min(s.OH, kc / s.OW));
}

// Rows [0, m) of cols for `out_rows` output rows of OW pixels, packed into
// 12-row slivers (pack_a_slivers<12>'s layout, depth out_rows*OW): cols row r
// over output row i is the OW floats at xp + off[r] + i*row_step.
void pack_rows(const float* xp, const int64_t* off, int64_t m, int64_t out_rows,
               int64_t row_step, int64_t OW, float* dst) {
    constexpr int64_t PR = 12;
    const int64_t d = out_rows * OW;
    for (int64_t r0 = 0; r0 < m; r0 += PR, dst += PR * d) {
        const int64_t live = std::min(PR, m - r0);
        const int64_t* o = off + r0;
        for (int64_t i = 0; i < out_rows; ++i) {
            const float* base = xp + i * row_step;
            gemm::transpose_rows([=](int64_t r) { return base + o[r]; }, live, OW,
                                 dst + i * OW * PR, PR);
        }
        gemm::zero_lanes(dst, PR, live, d);  // rows past K, as pack_a_slivers
    }
}
}  // namespace
#endif

bool conv2d_weight_direct_applies(const Conv2dShape& s) {
#ifdef TINYTORCH_GEMM_PAIRS
    const int64_t rows = rows_per_item(s);
    return s.stride_w == 1 && rows > 0 &&
           gemm::pair_tile_applies(s.C * s.KH * s.KW, s.F, rows * s.OW);
#else
    (void)s;
    return false;
#endif
}

void conv2d_backward_weight_direct(const float* grad_out, const float* x, float* grad_w,
                                   const Conv2dShape& s) {
#ifdef TINYTORCH_GEMM_PAIRS
    constexpr int64_t PR = 12;  // rows of the pair tile's A slivers
    const int64_t KK = s.KH * s.KW, K = s.C * KK, P = s.OH * s.OW, FK = s.F * K;
    const GemmBlocking& blocking = gemm_blocking();
    const int64_t rows = rows_per_item(s), depth = rows * s.OW;  // depth: the GEMM's k
    const int64_t groups = ceil_div(s.OH, rows), items = s.N * groups;
    const int64_t Wp = s.W + 2 * s.pad_w;
    const int64_t R = (rows - 1) * s.stride_h + (s.KH - 1) * s.dil_h + 1;
    const int64_t plane = simd::round_up(R * Wp, 16), slab = s.C * plane + simd::VL;
    // A blocks of mc rows of K: a multiple of 12, within half of L2
    const int64_t mc = std::clamp<int64_t>(blocking.l2 / 2 / (4 * depth) / PR * PR, PR,
                                           simd::round_up(blocking.mc, PR));
    const int64_t nc = std::min(simd::round_up(s.F, 8), simd::round_up(blocking.nc, 8));
    // slab offset of every row (c, kh, kw) of cols, for output row oh0 of an item
    std::vector<int64_t> row_off(static_cast<size_t>(simd::round_up(K, PR)), 0);
    for (int64_t k = 0; k < K; ++k) {
        const int64_t c = k / KK, kh = k % KK / s.KW, kw = k % s.KW;
        row_off[k] = c * plane + kh * s.dil_h * Wp + kw * s.dil_w;
    }
    const int threads = team_size(s.N * s.F * P * K, items);
    std::vector<float> partial(static_cast<size_t>(threads * FK), 0.0f);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        float* acc = partial.data() + thread_id() * FK;  // grad_w^T (K, F) of this thread
        thread_local simd::AlignedBuffer slab_buffer, a_buffer, b_buffer;
        float* xp = slab_buffer.get(slab);
        float* a_packed = a_buffer.get(mc * depth);
        float* b_packed = b_buffer.get(nc * depth);
#pragma omp for schedule(dynamic)
        for (int64_t item = 0; item < items; ++item) {
            const int64_t n = item / groups, oh0 = (item % groups) * rows;
            const int64_t oh1 = std::min(s.OH, oh0 + rows), d = (oh1 - oh0) * s.OW;
            fill_slab(x + n * s.C * s.H * s.W, s, oh0 * s.stride_h - s.pad_h, R, plane, xp);
            // op(B)[p, f] = grad_out[n, f, oh0*OW + p], in panels of at most NC filters
            for (int64_t jc = 0; jc < s.F; jc += nc) {
                const int64_t cols = std::min(nc, s.F - jc);
                gemm::pack_b_pairs(grad_out + (n * s.F * P + oh0 * s.OW), true, P, 0, jc, d, cols,
                                   b_packed);
                for (int64_t ic = 0; ic < K; ic += mc) {
                    const int64_t m = std::min(mc, K - ic);
                    pack_rows(xp, row_off.data() + ic, m, oh1 - oh0, s.stride_h * Wp, s.OW,
                              a_packed);
                    gemm::pairs_block_packed(a_packed, m, d, b_packed, cols,
                                             acc + ic * s.F + jc, s.F, true);
                }
            }
        }
    }
    sum_transposed(partial.data(), threads, K, s.F, grad_w);
#else
    (void)grad_out, (void)x, (void)grad_w, (void)s;  // never called: nothing applies
#endif
}

}  // namespace tinytorch
