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
// sgemm with at most max_threads OpenMP threads (1 = one core, Module 15's
// "packed + SIMD" step).
void sgemm_threads(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float* A, int64_t lda, const float* B, int64_t ldb,
                   float* C, int64_t ldc, int max_threads);
// for b in batch: C + b*stride_c = op(A + b*stride_a) @ op(B + b*stride_b)
void sgemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float* A, int64_t stride_a, int64_t lda,
                   const float* B, int64_t stride_b, int64_t ldb,
                   float* C, int64_t stride_c, int64_t ldc);

// ---- matmul_steps.cpp: the Module 15 road, one function per step -----------
// A: (M,K), B: (K,N), C: (M,N), all C-contiguous; C is overwritten.
void matmul_naive(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);
void matmul_reordered(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);
void matmul_blocked(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);

// ---- softmax.cpp ------------------------------------------------------------
// y[r, :] = exp(x[r, :] - max(x[r, :])) / sum(exp(x[r, :] - max(x[r, :])))
// x, y: (rows, cols), contiguous.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);

// ---- conv.cpp, pool.cpp (Module 08) ---------------------------------------
// x: (N, C, H, W), weight: (F, C, KH, KW), y: (N, F, OH, OW), all C-contiguous;
// OH = (H + 2*pad_h - dil_h*(KH-1) - 1) / stride_h + 1 (likewise OW).
// Pooling uses the same struct with F == C and dilation 1.
struct Conv2dShape {
    int64_t N, C, H, W;
    int64_t F, KH, KW;
    int64_t OH, OW;
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
};
// One image x: (C, H, W). cols[(c - c0)*KH*KW + kh*KW + kw, p - p0] for channels
// [c0, c1) and output pixels p = oh*OW + ow in [p0, p1) holds
// x[c, oh*stride_h - pad_h + kh*dil_h, ow*stride_w - pad_w + kw*dil_w] (0 in the padding).
void im2col(const float* x, const Conv2dShape& s, int64_t c0, int64_t c1, int64_t p0,
            int64_t p1, float* cols);
// The adjoint: x[c, ih, iw] += every cols entry that im2col copied from there.
void col2im(const float* cols, const Conv2dShape& s, int64_t c0, int64_t c1, int64_t p0,
            int64_t p1, float* x);
// y = conv2d(x, weight), no bias: y[n, f, oh, ow] = sum_{c,kh,kw} x[n, c, ih, iw] * w[f, c, kh, kw]
void conv2d_forward(const float* x, const float* weight, float* y, const Conv2dShape& s);
// grad_x (N, C, H, W) = dL/dx given grad_out (N, F, OH, OW)   (grad_x is overwritten)
void conv2d_backward_input(const float* grad_out, const float* weight, float* grad_x,
                           const Conv2dShape& s);
// grad_w (F, C, KH, KW) = dL/dweight, summed over the batch      (grad_w is overwritten)
void conv2d_backward_weight(const float* grad_out, const float* x, float* grad_w,
                            const Conv2dShape& s);
// indices[n, c, oh, ow] = ih*W + iw of the window maximum (first of ties, first NaN)
void max_pool2d_forward(const float* x, float* y, int64_t* indices, const Conv2dShape& s);
void max_pool2d_backward(const float* grad_out, const int64_t* indices, float* grad_x,
                         const Conv2dShape& s);
void avg_pool2d_forward(const float* x, float* y, const Conv2dShape& s);
void avg_pool2d_backward(const float* grad_out, float* grad_x, const Conv2dShape& s);

}  // namespace tinytorch
