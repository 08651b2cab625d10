// Single-precision matrix multiply.
//
// This first version is the "loop reordering" step of Module 15: the i-k-j
// order streams rows of B and C contiguously, so the inner loop vectorises,
// and OpenMP splits the rows of C across cores. Blocking, packing and a
// register-blocked micro-kernel come next (see modules/15_acceleration).
#include <cstring>

#include "kernels.h"

namespace tinytorch {

static inline float at(const float* X, bool trans, int64_t ld, int64_t r, int64_t c) {
    return trans ? X[c * ld + r] : X[r * ld + c];
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
           const float* A, int64_t lda, const float* B, int64_t ldb,
           float* C, int64_t ldc) {
#pragma omp parallel for schedule(static) if (M * N * K > (1 << 18))
    for (int64_t i = 0; i < M; ++i) {
        float* c_row = C + i * ldc;
        std::memset(c_row, 0, sizeof(float) * static_cast<size_t>(N));
        for (int64_t k = 0; k < K; ++k) {
            const float a_ik = at(A, trans_a, lda, i, k);
            if (!trans_b) {
                const float* b_row = B + k * ldb;
                for (int64_t j = 0; j < N; ++j) c_row[j] += a_ik * b_row[j];
            } else {
                for (int64_t j = 0; j < N; ++j) c_row[j] += a_ik * B[j * ldb + k];
            }
        }
    }
}

}  // namespace tinytorch
