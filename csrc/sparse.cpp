// CSR sparse x dense matrix product, C = A @ B (Module 18).
//
// A (M, K) is stored as CSR: values/col_indices (nnz,), row_ptr (M + 1,).
// B (K, N) and C (M, N) are dense, row-major. Row i of C is a sum of rows of B:
//     C[i, :] = sum over p in row i of values[p] * B[col_indices[p], :]
// so the inner loop streams one contiguous row of B -- SIMD over N, like the
// "reordered" loop of Module 15 -- and only the nonzeros cost FLOPs.
//
// Why sparse rarely wins: dense sgemm reuses each loaded B element across a
// register tile of MR rows of A (and packs panels to stay in L1/L2), reaching
// ~70% of the FMA peak. Here every nonzero loads a fresh row slice of B for one
// FMA per element: at best one FMA per load, with indirect (gathered) rows that
// the prefetcher cannot predict. So CSR must skip most of the work to win --
// the benchmark (benchmarks/bench_sparse.py) measures where on this CPU.
//
// Register tile: a block of NT = 4 vectors (32 floats with AVX2) of C's row
// stays in 4 accumulators while all the row's nonzeros are added in, so C is
// written once per block and each nonzero costs 4 loads + 4 FMAs (4
// independent FMA chains hide most of the FMA latency).
//
// Threads: rows are independent. The rows are split so every thread gets about
// the same number of nonzeros (not of rows: pruned rows can be nearly empty).
#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"
#include "simd.h"

namespace tinytorch {
namespace {

using namespace simd;

// Columns of C kept in registers per pass over a row's nonzeros: 4 vectors
// leave 16 - 4 - 1 ymm registers free for the B loads and the broadcast.
constexpr int64_t NT = 4 * VL;
// nnz * N below which one thread does it all (~10 us of work).
constexpr int64_t MIN_THREADED_WORK = int64_t(1) << 16;

void rows_product(const float* values, const int32_t* cols, const int32_t* row_ptr, int64_t N,
                  const float* B, float* C, int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t p0 = row_ptr[i], p1 = row_ptr[i + 1];
        float* c = C + i * N;
        // BEGIN SOLUTION 18
        int64_t j = 0;
        for (; j + NT <= N; j += NT) {  // full register tiles
            vec acc0 = vzero(), acc1 = vzero(), acc2 = vzero(), acc3 = vzero();
            for (int64_t p = p0; p < p1; ++p) {
                const vec a = vset1(values[p]);
                const float* b = B + int64_t(cols[p]) * N + j;
                acc0 = vfma(a, vloadu(b), acc0);
                acc1 = vfma(a, vloadu(b + VL), acc1);
                acc2 = vfma(a, vloadu(b + 2 * VL), acc2);
                acc3 = vfma(a, vloadu(b + 3 * VL), acc3);
            }
            vstoreu(c + j, acc0);
            vstoreu(c + j + VL, acc1);
            vstoreu(c + j + 2 * VL, acc2);
            vstoreu(c + j + 3 * VL, acc3);
        }
        for (; j < N; j += VL) {  // the last < NT columns, one (masked) vector at a time
            const int64_t n = std::min<int64_t>(VL, N - j);
            const lane_mask m = vmask(n);
            vec acc = vzero();
            for (int64_t p = p0; p < p1; ++p) {
                const float* b = B + int64_t(cols[p]) * N + j;
                const vec bv = n == VL ? vloadu(b) : vload_masked(b, m);
                acc = vfma(vset1(values[p]), bv, acc);
            }
            if (n == VL) vstoreu(c + j, acc);
            else vstore_masked(c + j, acc, m);
        }
        // END SOLUTION
    }
}

// The first row of thread t's share when the nnz are split evenly over n threads.
int64_t split_row(const int32_t* row_ptr, int64_t M, int t, int n) {
    const int64_t target = int64_t(row_ptr[M]) * t / n;
    return std::lower_bound(row_ptr, row_ptr + M, target) - row_ptr;
}

}  // namespace

void csr_matmul(const float* values, const int32_t* col_indices, const int32_t* row_ptr,
                int64_t M, int64_t N, const float* B, float* C) {
    const int64_t work = int64_t(row_ptr[M]) * N;
    const int threads = work > MIN_THREADED_WORK ? std::max(1, get_num_threads()) : 1;
    ParallelErrors errors;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        int t = 0, n = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        n = omp_get_num_threads();
#endif
        const int64_t r0 = t == 0 ? 0 : split_row(row_ptr, M, t, n);
        const int64_t r1 = t == n - 1 ? M : split_row(row_ptr, M, t + 1, n);
        errors.run([&] { rows_product(values, col_indices, row_ptr, N, B, C, r0, r1); });
    }
    errors.rethrow();
}

}  // namespace tinytorch
