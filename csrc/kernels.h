// Plain C++ kernel signatures: raw pointers, sizes, out-params. No pybind11 here.
//
// Every kernel assumes its caller (the bind_*.cpp files) has already checked
// dtype, shape and contiguity. Row-major storage throughout.
#pragma once
#include <cstdint>
#include <string>

namespace tinytorch {

// ---- build information (build_info.cpp) ------------------------------------
struct BuildInfo {
    std::string compiler;
    std::string simd;        // "AVX-512", "AVX2", or "scalar"
    bool vnni;               // AVX-512 VNNI int8 dot products compiled in
    bool native_arch;        // built with -march=native
    bool openmp;
    int max_threads;         // OpenMP threads a kernel may use (1 without OpenMP)
};
BuildInfo build_info();
void set_num_threads(int n);
int get_num_threads();

// ---- matmul.cpp -------------------------------------------------------------
// C[M,N] = op(A)[M,K] @ op(B)[K,N]   (C is overwritten)
// op(A) = A      when !trans_a, A stored (M,K) with row stride lda
// op(A) = A^T    when  trans_a, A stored (K,M) with row stride lda
// likewise for B. Loop nest computed:
//   for i in M: for j in N: C[i,j] = sum_k op(A)[i,k] * op(B)[k,j]
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
           const float* A, int64_t lda, const float* B, int64_t ldb,
           float* C, int64_t ldc);

// ---- softmax.cpp ------------------------------------------------------------
// y[r, :] = exp(x[r, :] - max(x[r, :])) / sum(exp(x[r, :] - max(x[r, :])))
// x, y: (rows, cols), contiguous.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);

}  // namespace tinytorch
