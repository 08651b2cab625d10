// The 6 x 16 int32 register tile both AVX2 int8 micro-kernels accumulate
// (qgemm_avx2.cpp: int16 pairs, qgemm_u8s8.cpp: u8 x s8 quads): twelve named
// ymm accumulators, row r in c<r>0 (columns 0-7) and c<r>1 (columns 8-15).
// Named variables, not an array: GCC 12 spills an acc[6][2] to the stack.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tinytorch::qgemm {

// tile[r * 16 + c] = accumulator of (r, c); tile is 32-byte aligned
__attribute__((target("avx2"))) inline void store_tile_6x16(
    int32_t* tile, __m256i c00, __m256i c01, __m256i c10, __m256i c11, __m256i c20,
    __m256i c21, __m256i c30, __m256i c31, __m256i c40, __m256i c41, __m256i c50,
    __m256i c51) {
    __m256i* t = reinterpret_cast<__m256i*>(tile);
    const __m256i rows[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    for (int i = 0; i < 12; ++i) _mm256_store_si256(t + i, rows[i]);
}

}  // namespace tinytorch::qgemm
