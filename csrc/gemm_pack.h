// Packing for the sgemm of matmul.cpp (Module 15, idea 2): copy the A block
// and the B panel into contiguous buffers in exactly the order the
// micro-kernel reads them, handling transposed operands while copying.
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "simd.h"

namespace tinytorch {
namespace gemm {

using simd::MR;
using simd::VL;

// Width of a packed B sliver: NV vector registers per micro-kernel row.
#ifdef TINYTORCH_GEMM_NV  // experiments only: -DTINYTORCH_GEMM_NV=3 with MR = 4 is 4 x 24
constexpr int64_t NV = TINYTORCH_GEMM_NV;
#else
constexpr int64_t NV = 2;
#endif
constexpr int64_t NR = NV * VL;

// Split `total` into equal steps of at most `max_step`, rounded up to
// `grain`: K = 784 becomes 2 x 392 rather than 512 + 272,
// so no block is left with a sliver of work.
inline int64_t balanced_step(int64_t total, int64_t max_step, int64_t grain) {
    const int64_t blocks = simd::ceil_div(total, max_step);
    return std::min(max_step, simd::round_up(simd::ceil_div(total, blocks), grain));
}

// Element (r, c) of op(X): trans = false reads X[r*ld + c], true X[c*ld + r].
inline const float* at(const float* X, bool trans, int64_t ld, int64_t r, int64_t c) {
    return trans ? X + c * ld + r : X + r * ld + c;
}

// Copy rows x cols of a matrix whose *columns* we need as rows:
// dst[c*dst_stride + r] = src[r*src_stride + c]. Both packing routines need
// this whenever memory runs along the other axis than the packed layout
// (A row-major into k-major slivers, B^T into k-major slivers). Done one
// element at a time it costs a scalar load and store each, as much as the
// multiply for skinny shapes; 8 x 8 blocks go through registers instead.
// transpose_rows takes the rows as row(r) -> pointer, so the rows need not be
// evenly spaced (the conv weight gradient packs (c, kh, kw) rows of a padded
// image: conv_wgrad.cpp); transpose_copy is the usual strided matrix.
template <class Row>
inline void transpose_rows(Row row, int64_t rows, int64_t cols, float* dst, int64_t dst_stride) {
    int64_t r0 = 0;
#if defined(__AVX__)
    for (; r0 + 8 <= rows; r0 += 8) {
        int64_t c0 = 0;
        for (; c0 + 8 <= cols; c0 += 8) {
            // The classic 8 x 8 transpose in three shuffle stages: pairs of
            // floats, then pairs of pairs, then 128-bit halves.
            __m256 r[8], t[8];
            for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(row(r0 + i) + c0);
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 8; i += 4) {
                r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
                r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
                r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
                r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
            }
            for (int i = 0; i < 4; ++i) {
                _mm256_storeu_ps(dst + (c0 + i) * dst_stride + r0,
                                 _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
                _mm256_storeu_ps(dst + (c0 + i + 4) * dst_stride + r0,
                                 _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
            }
        }
        for (int64_t c = c0; c < cols; ++c)
            for (int64_t r = r0; r < r0 + 8; ++r) dst[c * dst_stride + r] = row(r)[c];
    }
    if (r0 + 4 <= rows) {  // 4 rows (the rest of a 6- or 12-row sliver): a 4 x 8 transpose
        int64_t c0 = 0;
        const float *s0 = row(r0), *s1 = row(r0 + 1), *s2 = row(r0 + 2), *s3 = row(r0 + 3);
        for (; c0 + 8 <= cols; c0 += 8) {
            const __m256 r0v = _mm256_loadu_ps(s0 + c0), r1v = _mm256_loadu_ps(s1 + c0);
            const __m256 r2v = _mm256_loadu_ps(s2 + c0), r3v = _mm256_loadu_ps(s3 + c0);
            const __m256 t0 = _mm256_unpacklo_ps(r0v, r1v), t1 = _mm256_unpackhi_ps(r0v, r1v);
            const __m256 t2 = _mm256_unpacklo_ps(r2v, r3v), t3 = _mm256_unpackhi_ps(r2v, r3v);
            // columns c0+{0,4}, {1,5}, {2,6}, {3,7} as the two 128-bit halves
            const __m256 q[4] = {_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                                 _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2))};
            float* d = dst + c0 * dst_stride + r0;
            for (int i = 0; i < 4; ++i) {
                _mm_storeu_ps(d + i * dst_stride, _mm256_castps256_ps128(q[i]));
                _mm_storeu_ps(d + (i + 4) * dst_stride, _mm256_extractf128_ps(q[i], 1));
            }
        }
        for (int64_t c = c0; c < cols; ++c)
            for (int64_t r = r0; r < r0 + 4; ++r) dst[c * dst_stride + r] = row(r)[c];
        r0 += 4;
    }
#endif
    for (int64_t r = r0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) dst[c * dst_stride + r] = row(r)[c];
}
inline void transpose_copy(const float* src, int64_t src_stride, int64_t rows, int64_t cols,
                           float* dst, int64_t dst_stride) {
    transpose_rows([=](int64_t r) { return src + r * src_stride; }, rows, cols, dst, dst_stride);
}

// Zero lanes [live, width) of every one of `depth` packed steps of `width`
// floats: the edge of a sliver narrower than the tile.
inline void zero_lanes(float* dst, int64_t width, int64_t live, int64_t depth) {
    if (live < width)
        for (int64_t k = 0; k < depth; ++k)
            std::fill(dst + k * width + live, dst + (k + 1) * width, 0.0f);
}

// Pack op(A)[i0:i0+mc, k0:k0+kc] into slivers of W rows: sliver s holds
// a[k*W + r] = op(A)[i0 + s*W + r, k0 + k], the order the micro-kernel reads;
// rows of a last, short sliver past the edge are zero.
template <int64_t W>
inline void pack_a_slivers(const float* A, bool trans, int64_t lda, int64_t i0, int64_t k0,
                           int64_t mc, int64_t kc, float* dst) {
    for (int64_t s = 0; s < mc; s += W, dst += W * kc) {
        const int64_t rows = std::min(W, mc - s);
        if (trans) {  // op(A) rows are contiguous in memory along i: copy W at a time
            for (int64_t k = 0; k < kc; ++k) {
                const float* src = at(A, true, lda, i0 + s, k0 + k);
                for (int64_t r = 0; r < rows; ++r) dst[k * W + r] = src[r];
            }
        } else {  // rows of A run along k, the sliver along r: a transpose
            transpose_copy(at(A, false, lda, i0 + s, k0), lda, rows, kc, dst, W);
        }
        zero_lanes(dst, W, rows, kc);
    }
}
// The MR-row slivers of matmul.cpp's micro-kernel (and of the direct conv's weights).
inline void pack_a(const float* A, bool trans, int64_t lda, int64_t i0, int64_t k0, int64_t mc,
                   int64_t kc, float* dst) {
    pack_a_slivers<MR>(A, trans, lda, i0, k0, mc, kc, dst);
}

// Pack op(B)[k0:k0+kc, j0:j0+nc] into slivers of NR columns: sliver s holds
// b[k*w + c] = op(B)[k0 + k, j0 + s*NR + c] with width w = NR, or for a last,
// narrower sliver its width rounded up to whole vectors (the micro-kernel with
// that many vectors per row reads it).
// Columns past the edge are zero so full-vector FMAs stay harmless.
inline void pack_b(const float* B, bool trans, int64_t ldb, int64_t k0, int64_t j0, int64_t kc,
            int64_t nc, float* dst) {
    for (int64_t s = 0; s < nc; s += NR, dst += NR * kc) {
        const int64_t cols = std::min(NR, nc - s);
        const int64_t w = simd::round_up(cols, VL);
        if (trans) {  // op(B) columns run along k in memory, the sliver along c: a transpose
            transpose_copy(at(B, true, ldb, k0, j0 + s), ldb, cols, kc, dst, w);
            for (int64_t k = 0; k < kc; ++k)
                for (int64_t c = cols; c < w; ++c) dst[k * w + c] = 0.0f;
        } else {  // rows of B are contiguous along j: one short copy per k
            for (int64_t k = 0; k < kc; ++k) {
                const float* src = at(B, false, ldb, k0 + k, j0 + s);
                for (int64_t c = 0; c < cols; ++c) dst[k * w + c] = src[c];
                for (int64_t c = cols; c < w; ++c) dst[k * w + c] = 0.0f;
            }
        }
    }
}

// matmul.cpp: C[0:mc, 0:nc] (+)= a packed A block (pack_a's MR-row slivers, depth kc)
// @ a packed B panel (pack_b's NR-column slivers), on the MR x NR micro-kernel; row
// stride ldc; accumulate = false overwrites C.
void tile_block_packed(const float* a_packed, int64_t mc, int64_t kc, const float* b_packed,
                       int64_t nc, float* C, int64_t ldc, bool accumulate);

#if defined(__AVX2__) && defined(__FMA__) && !defined(__AVX512F__)
// gemm_pairs.cpp: the AVX2 12 x 8 pair-broadcast tile for large products.
#define TINYTORCH_GEMM_PAIRS 1
// Large enough for the pair tile, and the tile not switched off (set_gemm_pair_tile).
bool pair_tile_applies(int64_t M, int64_t N, int64_t K);
// B sliver panel of the pair tile: sliver s (8 columns) at dst + 8*s*kc holds
// b[k*8 + c] = op(B)[k0 + k, j0 + 8*s + c], columns past nc zero.
void pack_b_pairs(const float* B, bool trans, int64_t ldb, int64_t k0, int64_t j0, int64_t kc,
                  int64_t nc, float* dst);
// C[0:mc, 0:nc] (+)= packed A block (12-row slivers of pack_a_slivers<12>, depth kc)
// @ packed B panel (pack_b_pairs), row stride ldc; accumulate = false overwrites C.
void pairs_block_packed(const float* a_packed, int64_t mc, int64_t kc, const float* b_packed,
                        int64_t nc, float* C, int64_t ldc, bool accumulate);
// C[m0:m1, n0:n1] = op(A) @ op(B) on one thread, like matmul.cpp's gemm_block.
void gemm_block_pairs(bool trans_a, bool trans_b, int64_t K, const float* A, int64_t lda,
                      const float* B, int64_t ldb, float* C, int64_t ldc, int64_t m0, int64_t m1,
                      int64_t n0, int64_t n1);
// All of C = op(A) @ op(B) on `threads` threads that take (B panel, A block)
// items as they become free; false (nothing done) when M has too few blocks.
// (only while gemm_dynamic_enabled(): set_gemm_dynamic, kernels.h)
bool gemm_pairs_dynamic(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                        const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                        int64_t ldc, int threads);
#endif

}  // namespace gemm
}  // namespace tinytorch
