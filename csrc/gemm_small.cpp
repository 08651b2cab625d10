// Matrix-vector-like products, C[M, N] = op(A)[M, K] @ op(B)[K, N] with M <= 4
// (Module 15): one token through a Linear layer while decoding, one sample at
// inference time.
//
// The blocked sgemm of matmul.cpp packs a K x N panel of B before it multiplies:
// a copy of the whole weight matrix that pays for itself only when M rows reuse
// it. With M = 1 the product reads each weight exactly once, so the copy doubles
// the memory traffic of a memory-bound kernel (measured: 2.6x slower than
// OpenBLAS at 1 x 384 x 1152). Here B is read in place, once, streaming:
//  * op(B) = B^T (the Linear weight W (N, K), the common case): every output is a
//    dot product of a row of A with a contiguous row of W, vectorised over K;
//    4 rows of W at a time give 4 x M independent accumulator chains;
//  * op(B) = B (K, N) row-major: rows of B stream through, each scaled by
//    A[i, k] and added into M output rows kept in registers, NB floats at a time.
#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"
#include "simd.h"

namespace tinytorch {
namespace {

using namespace simd;

constexpr int64_t SMALL_M = 4;
// Columns of B^T-products handled per inner step: 4 rows of W (4 x M chains
// hide the FMA latency).
constexpr int64_t ROWS_PER_STEP = 4;
// Output columns of a B-product kept in registers: 4 vectors x M rows <= 16
// accumulators (within the 16 ymm / 32 zmm registers).
constexpr int64_t NB_VECTORS = 4;
constexpr int64_t NB = NB_VECTORS * VL;
// Above this many elements of B (4 MiB, beyond L2) the product is bound by memory
// bandwidth, and a second core adds bandwidth; below, one core finishes before a
// second thread would have started.
constexpr int64_t THREADED_B_ELEMENTS = int64_t(1) << 20;

// C[0:M, n0:n1] = a (M x K, rows contiguous) . W[n, :] for n in [n0, n1)
template <int M>
void dot_rows(const float* a, int64_t K, const float* W, int64_t ldw, float* C, int64_t ldc,
              int64_t n0, int64_t n1) {
    const int64_t full = K / VL * VL;
    const lane_mask tail = vmask(K - full);
    int64_t n = n0;
    for (; n + ROWS_PER_STEP <= n1; n += ROWS_PER_STEP) {
        vec acc[M][ROWS_PER_STEP];
        for (int i = 0; i < M; ++i)
            for (int r = 0; r < ROWS_PER_STEP; ++r) acc[i][r] = vzero();
        for (int64_t k = 0; k <= K - VL; k += VL) {
            vec w[ROWS_PER_STEP];
            for (int r = 0; r < ROWS_PER_STEP; ++r) w[r] = vloadu(W + (n + r) * ldw + k);
            for (int i = 0; i < M; ++i) {
                const vec x = vloadu(a + i * K + k);
                for (int r = 0; r < ROWS_PER_STEP; ++r) acc[i][r] = vfma(x, w[r], acc[i][r]);
            }
        }
        if (full < K) {
            vec w[ROWS_PER_STEP];
            for (int r = 0; r < ROWS_PER_STEP; ++r)
                w[r] = vload_masked(W + (n + r) * ldw + full, tail);
            for (int i = 0; i < M; ++i) {
                const vec x = vload_masked(a + i * K + full, tail);
                for (int r = 0; r < ROWS_PER_STEP; ++r) acc[i][r] = vfma(x, w[r], acc[i][r]);
            }
        }
        for (int i = 0; i < M; ++i)
            for (int r = 0; r < ROWS_PER_STEP; ++r) C[i * ldc + n + r] = vreduce_add(acc[i][r]);
    }
    for (; n < n1; ++n) {  // the last 0-3 rows of W, one at a time
        vec acc[M];
        for (int i = 0; i < M; ++i) acc[i] = vzero();
        for (int64_t k = 0; k < K; k += VL) {
            const lane_mask m = vmask(K - k);
            const vec w = vload_masked(W + n * ldw + k, m);
            for (int i = 0; i < M; ++i) acc[i] = vfma(vload_masked(a + i * K + k, m), w, acc[i]);
        }
        for (int i = 0; i < M; ++i) C[i * ldc + n] = vreduce_add(acc[i]);
    }
}

// C[0:M, n0:n1] = a (M x K) @ B[:, n0:n1], B row-major with row stride ldb
template <int M>
void axpy_rows(const float* a, int64_t K, const float* B, int64_t ldb, float* C, int64_t ldc,
               int64_t n0, int64_t n1) {
    for (int64_t j = n0; j < n1; j += NB) {
        const int64_t width = std::min(NB, n1 - j);
        lane_mask mask[NB_VECTORS];
        for (int v = 0; v < NB_VECTORS; ++v) mask[v] = vmask(width - v * VL);
        vec acc[M][NB_VECTORS];
        for (int i = 0; i < M; ++i)
            for (int v = 0; v < NB_VECTORS; ++v) acc[i][v] = vzero();
        for (int64_t k = 0; k < K; ++k) {
            vec b[NB_VECTORS];
            for (int v = 0; v < NB_VECTORS; ++v) b[v] = vload_masked(B + k * ldb + j + v * VL, mask[v]);
            for (int i = 0; i < M; ++i) {
                const vec x = vset1(a[i * K + k]);
                for (int v = 0; v < NB_VECTORS; ++v) acc[i][v] = vfma(x, b[v], acc[i][v]);
            }
        }
        for (int i = 0; i < M; ++i)
            for (int v = 0; v < NB_VECTORS; ++v)
                vstore_masked(C + i * ldc + j + v * VL, acc[i][v], mask[v]);
    }
}

template <int M>
void small_block(const float* a, bool trans_b, int64_t K, const float* B, int64_t ldb,
                 float* C, int64_t ldc, int64_t n0, int64_t n1) {
    if (trans_b)
        dot_rows<M>(a, K, B, ldb, C, ldc, n0, n1);
    else
        axpy_rows<M>(a, K, B, ldb, C, ldc, n0, n1);
}

using block_fn = void (*)(const float*, bool, int64_t, const float*, int64_t, float*, int64_t,
                          int64_t, int64_t);
constexpr block_fn BLOCKS[SMALL_M] = {small_block<1>, small_block<2>, small_block<3>,
                                      small_block<4>};

}  // namespace

bool sgemm_small(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                 int max_threads) {
    if (M < 1 || M > SMALL_M || N < 1 || K < 1) return false;
    // op(A) is at most 4 rows: copy them contiguous (4 K floats) so both loops read A
    // with unit stride whatever its layout.
    thread_local std::vector<float> rows;
    rows.resize(static_cast<size_t>(M * K));
    for (int64_t i = 0; i < M; ++i)
        for (int64_t k = 0; k < K; ++k)
            rows[i * K + k] = trans_a ? A[k * lda + i] : A[i * lda + k];
    const float* a = rows.data();
    const block_fn block = BLOCKS[M - 1];
#ifdef _OPENMP
    const int threads = N * K >= THREADED_B_ELEMENTS ? std::max(1, max_threads) : 1;
    if (threads > 1) {
        const int64_t grain = trans_b ? ROWS_PER_STEP : NB;
#pragma omp parallel num_threads(threads)
        {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            const int64_t blocks = ceil_div(N, grain);
            const int64_t n0 = std::min(N, blocks * t / nt * grain);
            const int64_t n1 = std::min(N, blocks * (t + 1) / nt * grain);
            block(a, trans_b, K, B, ldb, C, ldc, n0, n1);
        }
        return true;
    }
#else
    (void)max_threads;
#endif
    block(a, trans_b, K, B, ldb, C, ldc, 0, N);
    return true;
}

}  // namespace tinytorch
