// The register-tiled product every attention tile is made of (attention.cpp,
// attention_backward.cpp): C (rows x cols) (op)= A (rows x depth) @ B (depth x cols).
//
// It is the micro-kernel of matmul.cpp with two changes that suit attention:
//  * A is read in place through two strides, so K, V, a score tile or its
//    transpose serve as A without packing: element A[r, k] is a[r*a_row + k*a_k];
//  * the store can rescale C per column first, C = col_scale[col] * C + acc:
//    the online softmax's "multiply the running output by exp(m_old - m_new)"
//    costs nothing extra that way, it happens while the tile is in registers.
// B rows are `cols` floats at b + k*ldb, cols a multiple of VL: every operand
// is laid out (or padded) so that B and C are whole vectors, with no masks in
// the inner loop. Unlike matmul there is no KC / MC / NC blocking: attention
// tiles are small by construction (the callers pick them to fit L1).
#pragma once
#include <array>
#include <cstdint>
#include <utility>

#include "simd.h"

namespace tinytorch::attention_tiles {

using namespace simd;

// A register tile is MR rows x NR columns: MR x 2 vector accumulators (see MR
// in simd.h), the same register budget as the sgemm micro-kernel.
constexpr int64_t NR = 2 * VL;

template <int ROWS, int NV>
void tile_kernel(int64_t depth, const float* __restrict a, int64_t a_row, int64_t a_k,
                 const float* __restrict b, int64_t ldb, float* c, int64_t ldc,
                 const float* col_scale, bool accumulate) {
    vec acc[ROWS][NV];
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[r][v] = vzero();

    for (int64_t k = 0; k < depth; ++k, a += a_k, b += ldb) {
        vec bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) bv[v] = vloadu(b + v * VL);
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; ++r) {
            const vec ar = vbroadcast(a + r * a_row);
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) acc[r][v] = vfma(ar, bv[v], acc[r][v]);
        }
    }

#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            float* p = c + r * ldc + v * VL;
            vec out = acc[r][v];
            if (col_scale) {
                out = vfma(vloadu(col_scale + v * VL), vloadu(p), out);
            } else if (accumulate) {
                out = vadd(vloadu(p), out);
            }
            vstoreu(p, out);
        }
    }
}

using tile_fn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*,
                         int64_t, const float*, bool);
using tile_table = std::array<tile_fn, MR>;  // indexed by rows - 1

template <int NV, int... R>
constexpr tile_table make_tile_table(std::integer_sequence<int, R...>) {
    return {&tile_kernel<R + 1, NV>...};
}

// One instantiation per edge: TILE_KERNELS[nv - 1][rows - 1].
inline constexpr tile_table TILE_KERNELS[2] = {
    make_tile_table<1>(std::make_integer_sequence<int, MR>{}),
    make_tile_table<2>(std::make_integer_sequence<int, MR>{}),
};

// C[0:rows, 0:cols] = A @ B, or C += A @ B (accumulate), or
// C = col_scale * C + A @ B (col_scale: cols floats). cols % VL == 0.
inline void tile_gemm(int64_t rows, int64_t cols, int64_t depth, const float* a, int64_t a_row,
                      int64_t a_k, const float* b, int64_t ldb, float* c, int64_t ldc,
                      const float* col_scale = nullptr, bool accumulate = false) {
    for (int64_t j = 0; j < cols; j += NR) {
        const int64_t nv = cols - j >= NR ? 2 : 1;
        const tile_table& table = TILE_KERNELS[nv - 1];
        for (int64_t i = 0; i < rows; i += MR) {
            const int64_t m = rows - i < MR ? rows - i : MR;
            table[m - 1](depth, a + i * a_row, a_row, a_k, b + j, ldb, c + i * ldc + j, ldc,
                         col_scale ? col_scale + j : nullptr, accumulate);
        }
    }
}

}  // namespace tinytorch::attention_tiles
