// Internal interface of the int8 GEMM (Module 17) between the driver
// (qgemm.cpp: blocking, packing order, threads, epilogue) and the
// instruction-set paths (qgemm_avx2.cpp, qgemm_vnni.cpp, the scalar one in
// qgemm.cpp). Every path packs its operands in its own format and brings a
// micro-kernel that computes a whole MR x NR int32 tile from two packed
// slivers; the driver never looks inside a packed buffer.
#pragma once

#include <cstdint>

namespace tinytorch::qgemm {

// A: M x K activations, uint8 (a_signed = false) or int8, row stride lda.
// W: N x K weights, int8, row stride ldw (PyTorch's Linear layout: C = A W^T).
struct Path {
    const char* name;
    int64_t MR, NR;   // register tile
    int64_t kgroup;   // K is padded to a multiple of this (pairs, quads) with zeros
    int64_t a_bytes;  // bytes per packed element of A (2: int16, 1: int8)
    int64_t b_bytes;
    // pack A[i0:i0+mc, k0:k0+kc] into slivers of MR rows (rows past mc are zero)
    void (*pack_a)(const uint8_t* A, int64_t lda, bool a_signed, int64_t i0, int64_t k0,
                   int64_t mc, int64_t kc, void* dst);
    // pack W[j0:j0+nc, k0:k0+kc] (= B^T) into slivers of NR columns (zero padded)
    void (*pack_b)(const int8_t* W, int64_t ldw, int64_t j0, int64_t k0, int64_t nc,
                   int64_t kc, void* dst);
    // tile[r*NR + c] = sum over k < kcp of a[r, k] * b[k, c]; kcp = kc rounded up to kgroup
    void (*kernel)(int64_t kcp, const void* a, const void* b, int32_t* tile);
    // VNNI multiplies u8 x s8 only: a signed A is packed as a + 128, and this
    // path then needs 128 * colsum(W) subtracted (the driver does it).
    bool shifts_signed_a;
};

// Where the small-M path delivers finished int32 tiles (rows 0..m, columns j..j+n).
struct TileSink {
    void (*fn)(const void* ctx, int32_t* tile, int64_t ld, int64_t j, int64_t m, int64_t n);
    const void* ctx;
};
// C[0:M, n0:n1] for M <= 4 without packing W (qgemm_avx2.cpp); a16 holds M x
// round_up(K, 16) int16, filled from A when `widen`.
void small_m_avx2(int64_t M, int64_t K, const uint8_t* A, int64_t lda, bool a_signed,
                  const int8_t* W, int64_t ldw, int64_t n0, int64_t n1, int16_t* a16,
                  bool widen, const TileSink& sink);

const Path& scalar_path();
const Path& avx2_path();            // int16 widening + vpmaddwd (never saturates)
// u8 x s8 vpmaddubsw (qgemm_u8s8.cpp): exact only for unsigned A <= 127, which
// the driver checks with fits_7_bits before it takes the path
const Path& avx2_u8s8_path();
bool fits_7_bits(const uint8_t* A, int64_t lda, int64_t M, int64_t K);
const Path* avx512_vnni_path();     // nullptr when not compiled in
const Path* avx_vnni_path();

// The epilogue applied to finished int32 tiles (see kernels.h: qlinear).
struct Epilogue {
    const float* a_scale;    // per row of A (M values; per-tensor = M equal values)
    const int32_t* a_zp;     // per row of A
    const float* w_scale;    // per column of C (N values)
    const int32_t* w_colsum; // sum over k of W[n, k]
    const float* bias;       // N values or nullptr
    bool relu;
    int out_kind;            // 0: float32, 1: int8 requantized, 2: uint8 requantized
    float out_scale;
    int32_t out_zp;
    void* out;               // M x N, row stride ldo
    int64_t ldo;
    // > 0: a convolution's output, NCHW: row i is pixel i % plane of image i / plane,
    // so y[i, j] goes to out[((i / plane) * ldo + j) * plane + i % plane] (ldo = N)
    int64_t plane = 0;
};

// C = A W^T on up to max_threads threads: raw int32 into C, or through ep (qgemm.cpp)
void run(bool a_signed, int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda,
         const int8_t* W, int64_t ldw, int32_t* C, int64_t ldc, const Epilogue* ep,
         int max_threads);

// rows x cols of int32 accumulators (row stride ld) starting at (i0, j0) of C
void apply_epilogue(const Epilogue& ep, const int32_t* acc, int64_t ld, int64_t i0, int64_t j0,
                    int64_t rows, int64_t cols);
void apply_epilogue_avx2(const Epilogue& ep, const int32_t* acc, int64_t ld, int64_t i0,
                         int64_t j0, int64_t rows, int64_t cols);

// The partial sums of K blocks (qgemm.cpp): v = tile + (first ? 0 : dst), then
// tile = v on the last block (the epilogue reads it), else dst = v. `tile` is
// 32-byte aligned with ld_tile a multiple of 8.
void accumulate_tile_avx2(int32_t* tile, int64_t ld_tile, int32_t* dst, int64_t ld_dst,
                          int64_t m, int64_t n, bool first, bool last);

// dynamic activation quantization of rows [r0, r1) (quantize.cpp)
void quantize_rows_avx2(const float* x, int64_t r0, int64_t r1, int64_t K, const float* inv,
                        const int32_t* zp, int32_t qmin, int32_t qmax, bool per_row,
                        uint8_t* q, bool to_signed);
void minmax_avx2(const float* x, int64_t n, float* lo, float* hi);
bool cpu_has_avx2();
// q = clamp(nearbyint(fma(x, inv_scale, zp)), lo, hi), NaN -> hi: quantize_per_tensor's rule
int32_t quantize_one(float x, float inv_scale, int32_t zp, int32_t lo, int32_t hi);

}  // namespace tinytorch::qgemm
