// The conv weight gradient without im2col (Module 15), for a horizontal stride
// of 1. See conv.cpp for the im2col + sgemm path, which every other geometry
// still takes.
//
//   grad_w^T (K, F) = sum over images n and pixels p of cols[n] (K, P) @ grad_out[n]^T (P, F)
//
// with K = C*KH*KW rows (c, kh, kw). The GEMM packs its A operand, cols, into
// slivers of the register tile's rows: a transpose of that many cols rows.
// Built by im2col first, every cols element is written once and read back once
// more before the packing reads it: on the 32x32 layer (N=32, 64->64, one
// thread, AVX2) im2col took 18% of the weight gradient and the A packing 8%
// (perf). But a cols row (c, kh, kw) over one output row oh is just OW
// consecutive floats of the zero-padded image, row (oh*stride_h + kh*dil_h),
// column offset kw*dil_w. So the slivers are transposed straight out of a
// padded slab of the image (fill_slab, as in the direct convolution), a
// sliver's worth of row pointers at a time, and cols never exists. Each item
// is a range of whole output rows of one image (at least 256 pixels, at most
// KC so a B sliver stays in L1); each thread adds its items into a private
// grad_w^T.
//
// The tile is the sgemm's: the AVX2 pair tile (12 x 8, gemm_pairs.cpp) where
// it is built and switched on, else the MR x NR micro-kernel of matmul.cpp
// (8 x 32 with AVX-512, 6 x 16 with AVX2).
#include <algorithm>
#include <vector>

#include "conv_common.h"
#include "gemm_pack.h"
#include "kernels.h"
#include "simd.h"

namespace tinytorch {
using namespace conv_detail;

namespace {
// The register tile of this call: rows of an A sliver, columns of a B sliver.
struct Tile {
    int64_t rows, cols;
    bool pairs;
};
Tile current_tile() {
#ifdef TINYTORCH_GEMM_PAIRS
    if (gemm_pair_tile_enabled()) return {12, 8, true};
#endif
    return {simd::MR, gemm::NR, false};
}

// Output rows per item: at least 256 pixels, at most KC of them (0: no such range).
int64_t rows_per_item(const Conv2dShape& s) {
    const int64_t kc = gemm_blocking().kc;
    if (s.OH <= 0 || s.OW <= 0 || s.OW > kc) return 0;
    return std::clamp<int64_t>(ceil_div(256, s.OW), 1, std::min(s.OH, kc / s.OW));
}

// Rows [0, m) of cols for `out_rows` output rows of OW pixels, packed into
// W-row slivers (pack_a_slivers<W>'s layout, depth out_rows*OW): cols row r
// over output row i is the OW floats at xp + off[r] + i*row_step.
template <int64_t W>
void pack_rows(const float* xp, const int64_t* off, int64_t m, int64_t out_rows,
               int64_t row_step, int64_t OW, float* dst) {
    const int64_t d = out_rows * OW;
    for (int64_t r0 = 0; r0 < m; r0 += W, dst += W * d) {
        const int64_t live = std::min(W, m - r0);
        const int64_t* o = off + r0;
        for (int64_t i = 0; i < out_rows; ++i) {
            const float* base = xp + i * row_step;
            gemm::transpose_rows([=](int64_t r) { return base + o[r]; }, live, OW,
                                 dst + i * OW * W, W);
        }
        gemm::zero_lanes(dst, W, live, d);  // rows past K, as pack_a_slivers
    }
}

// op(B) rows [0, d) x filters [jc, jc + cols) of grad_out (stored (F, P), ld P)
// into the tile's B panel.
void pack_panel([[maybe_unused]] const Tile& tile, const float* g, int64_t P, int64_t jc,
                int64_t d, int64_t cols, float* b_packed) {
#ifdef TINYTORCH_GEMM_PAIRS
    if (tile.pairs) return gemm::pack_b_pairs(g, true, P, 0, jc, d, cols, b_packed);
#endif
    gemm::pack_b(g, true, P, 0, jc, d, cols, b_packed);
}

// C[0:m, 0:cols] += cols rows [0, m) (packed from the slab here) @ the B panel.
void multiply_block([[maybe_unused]] const Tile& tile, const float* xp, const int64_t* off,
                    int64_t m, int64_t out_rows, int64_t row_step, int64_t OW, float* a_packed,
                    const float* b_packed, int64_t cols, float* c, int64_t ldc) {
    const int64_t d = out_rows * OW;
#ifdef TINYTORCH_GEMM_PAIRS
    if (tile.pairs) {
        pack_rows<12>(xp, off, m, out_rows, row_step, OW, a_packed);
        return gemm::pairs_block_packed(a_packed, m, d, b_packed, cols, c, ldc, true);
    }
#endif
    pack_rows<simd::MR>(xp, off, m, out_rows, row_step, OW, a_packed);
    gemm::tile_block_packed(a_packed, m, d, b_packed, cols, c, ldc, true);
}
}  // namespace

bool conv2d_weight_direct_applies(const Conv2dShape& s) {
    const int64_t rows = rows_per_item(s);
    // The pair tile's thresholds (gemm::pair_tile_applies), for every tile:
    // packing both operands pays off only for a deep enough product.
    return s.stride_w == 1 && rows > 0 && s.C * s.KH * s.KW >= 24 && s.F >= 64 &&
           rows * s.OW >= 128;
}

void conv2d_backward_weight_direct(const float* grad_out, const float* x, float* grad_w,
                                   const Conv2dShape& s) {
    const Tile tile = current_tile();
    const int64_t KK = s.KH * s.KW, K = s.C * KK, P = s.OH * s.OW, FK = s.F * K;
    const GemmBlocking& blocking = gemm_blocking();
    const int64_t rows = rows_per_item(s), depth = rows * s.OW;  // depth: the GEMM's k
    const int64_t groups = ceil_div(s.OH, rows), items = s.N * groups;
    const int64_t Wp = s.W + 2 * s.pad_w;
    const int64_t R = (rows - 1) * s.stride_h + (s.KH - 1) * s.dil_h + 1;
    const int64_t plane = simd::round_up(R * Wp, 16), slab = s.C * plane + simd::VL;
    // A blocks of mc rows of K: whole slivers, within half of L2
    const int64_t mc = std::clamp<int64_t>(
        blocking.l2 / 2 / (4 * depth) / tile.rows * tile.rows, tile.rows,
        simd::round_up(blocking.mc, tile.rows));
    const int64_t nc =
        std::min(simd::round_up(s.F, tile.cols), simd::round_up(blocking.nc, tile.cols));
    // slab offset of every row (c, kh, kw) of cols, for output row oh0 of an item
    std::vector<int64_t> row_off(static_cast<size_t>(simd::round_up(K, tile.rows)), 0);
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
            const float* g = grad_out + (n * s.F * P + oh0 * s.OW);
            for (int64_t jc = 0; jc < s.F; jc += nc) {
                const int64_t cols = std::min(nc, s.F - jc);
                pack_panel(tile, g, P, jc, d, cols, b_packed);
                for (int64_t ic = 0; ic < K; ic += mc)
                    multiply_block(tile, xp, row_off.data() + ic, std::min(mc, K - ic),
                                   oh1 - oh0, s.stride_h * Wp, s.OW, a_packed, b_packed, cols,
                                   acc + ic * s.F + jc, s.F);
            }
        }
    }
    sum_transposed(partial.data(), threads, K, s.F, grad_w);
}

}  // namespace tinytorch
