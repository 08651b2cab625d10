// The road to a fast matmul, one step per function (Module 15).
//
// Each step computes the same C = A @ B (A: (M,K), B: (K,N), C: (M,N), all
// row-major and contiguous) and changes one thing. `tinytorch bench --steps`
// times them; the last two steps ("packed_simd" and "threaded") are the real
// kernel in matmul.cpp run on one thread and on all threads.
#include <algorithm>
#include <cstdint>

#include "kernels.h"

namespace tinytorch {

// Step 1, i-j-k: the formula as written. The inner loop walks down a column
// of B (stride N floats): every B element read touches a new cache line,
// and the running sum is one long dependency chain, so nothing vectorises.
void matmul_naive(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
    // BEGIN SOLUTION 15
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
            float sum = 0.0f;
            for (int64_t k = 0; k < K; ++k) sum += A[i * K + k] * B[k * N + j];
            C[i * N + j] = sum;
        }
    // END SOLUTION
}

// Step 2, i-k-j: same arithmetic, loops swapped. The inner loop now streams a
// row of B and a row of C contiguously and its iterations are independent,
// so the compiler turns it into SIMD FMAs. Still, for large N the C row and
// the whole of B are re-read from memory for every i.
void matmul_reordered(int64_t M, int64_t N, int64_t K, const float* A, const float* B,
                      float* C) {
    // BEGIN SOLUTION 15
    std::fill(C, C + M * N, 0.0f);
    for (int64_t i = 0; i < M; ++i)
        for (int64_t k = 0; k < K; ++k) {
            const float a_ik = A[i * K + k];
            for (int64_t j = 0; j < N; ++j) C[i * N + j] += a_ik * B[k * N + j];
        }
    // END SOLUTION
}

// Step 3, blocking, still plain C++ (the compiler vectorises the j loops):
//  * register blocking: an RM x RN = 8 x 32 tile of C (1 KiB: 16 AVX-512
//    registers) is accumulated in a local array across a whole K block, so
//    each FMA costs one load of B instead of a load and a store of C too;
//    each B load now feeds RM = 8 FMAs, each broadcast of A feeds RN = 32.
//  * cache blocking over K: for one block of KB = 256, the 8 A row segments
//    (8 x 256 x 4 B = 8 KiB) stay in L1d (32 KiB) while the j0 loop sweeps the
//    KB x N band of B (512 KiB for N = 512), which stays in L2 (1 MiB) for
//    the next 8 rows.
// What is still missing (step 4): B rows are N floats apart, so for N = 1024
// (4 KiB) the rows of a B tile fall into the same few L1 sets and evict
// each other, and edge tiles fall back to a slow loop.
void matmul_blocked(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
    // BEGIN SOLUTION 15
    constexpr int64_t RM = 8, RN = 32, KB = 256;
    for (int64_t k0 = 0; k0 < K; k0 += KB) {
        const int64_t k1 = std::min(K, k0 + KB);
        for (int64_t i0 = 0; i0 < M; i0 += RM)
            for (int64_t j0 = 0; j0 < N; j0 += RN) {
                const int64_t rm = std::min(RM, M - i0), rn = std::min(RN, N - j0);
                float acc[RM][RN] = {};
                if (rm == RM && rn == RN) {  // constant trip counts: fully vectorised
                    for (int64_t k = k0; k < k1; ++k)
                        for (int64_t r = 0; r < RM; ++r)
                            for (int64_t j = 0; j < RN; ++j)
                                acc[r][j] += A[(i0 + r) * K + k] * B[k * N + j0 + j];
                } else {  // edge tile
                    for (int64_t k = k0; k < k1; ++k)
                        for (int64_t r = 0; r < rm; ++r)
                            for (int64_t j = 0; j < rn; ++j)
                                acc[r][j] += A[(i0 + r) * K + k] * B[k * N + j0 + j];
                }
                for (int64_t r = 0; r < rm; ++r)  // the first K block writes, later ones add
                    for (int64_t j = 0; j < rn; ++j) {
                        float& c = C[(i0 + r) * N + j0 + j];
                        c = (k0 == 0 ? 0.0f : c) + acc[r][j];
                    }
            }
    }
    // END SOLUTION
}

}  // namespace tinytorch
