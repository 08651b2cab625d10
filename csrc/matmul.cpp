// Single-precision GEMM the way fast BLAS libraries build it (Module 15).
//
// C[M,N] = op(A)[M,K] @ op(B)[K,N]. Five ideas, each one a step of the
// module (modules/15_acceleration/README.md measures every step):
//
//  1. Cache blocking (Goto's algorithm, as in BLIS). The loop nest is
//
//       jc: NC columns of B/C   B panel  op(B)[pc:pc+KC, jc:jc+NC], packed
//        pc: KC of the K axis
//         ic: MC rows of A/C    A block  op(A)[ic:ic+MC, pc:pc+KC], packed
//          jr: NR columns       B sliver (KC x NR), re-read for every ir
//           ir: MR rows         micro-kernel: an MR x NR tile of C in registers
//
//     so every level of the memory hierarchy holds the operand reused by the
//     loop just inside it (the tile sizes below say which level holds what).
//  2. Packing. The A block and the B panel are copied into contiguous,
//     64-byte aligned buffers in exactly the order the micro-kernel reads
//     them (one stream per operand, no strides, no cache-set conflicts for
//     power-of-two leading dimensions). Transposed operands are handled
//     here, while packing, so they cost no extra copy.
//  3. A register-blocked SIMD micro-kernel: MR x NR accumulators live in
//     vector registers for the whole K loop; per k it loads one row of the
//     B sliver (NR/VL vectors), broadcasts MR values of A and issues
//     MR * NR/VL fused multiply-adds. C is touched once per KC steps.
//  4. Edges without waste: the micro-kernel is instantiated for every row
//     count 1..MR and for NR or NR/2 columns, and stores under a lane mask;
//     a skinny result (128 x 10) is computed as its transpose (10 x 128) so
//     vectors run along the long side.
//  5. Threads: C is cut into one rectangle per thread (see choose_grid);
//     each thread runs the whole loop nest above on its rectangle with its
//     own packing buffers, so there are no barriers and no shared writes.
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"

namespace tinytorch {
namespace {

// ---- the vector unit: six one-line operations per instruction set ----------
// The micro-kernel below is written once against these; VL is the number of
// floats in one vector register.
#if defined(__AVX512F__)
using vec = __m512;
using lane_mask = __mmask16;
constexpr int64_t VL = 16;
// 32 zmm registers: 8 x 2 = 16 accumulators + 2 B vectors + 1 broadcast
// leaves room for the compiler. 16 independent FMA chains cover the FMA
// latency (4 cycles) times the FMA issue rate of Zen 4 / Skylake-X.
constexpr int64_t MR = 8;
inline vec vzero() { return _mm512_setzero_ps(); }
inline vec vload(const float* p) { return _mm512_load_ps(p); }
inline vec vbroadcast(const float* p) { return _mm512_set1_ps(*p); }
inline vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
inline lane_mask vmask(int64_t n) {
    return n >= VL ? lane_mask(0xFFFF) : n <= 0 ? lane_mask(0) : lane_mask((1u << n) - 1);
}
inline vec vload_masked(const float* p, lane_mask m) { return _mm512_maskz_loadu_ps(m, p); }
inline void vstore_masked(float* p, vec v, lane_mask m) { _mm512_mask_storeu_ps(p, m, v); }
inline vec vadd(vec a, vec b) { return _mm512_add_ps(a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
using vec = __m256;
using lane_mask = __m256i;
constexpr int64_t VL = 8;
// 16 ymm registers: 6 x 2 = 12 accumulators + 2 B vectors + 1 broadcast = 15.
constexpr int64_t MR = 6;
inline vec vzero() { return _mm256_setzero_ps(); }
inline vec vload(const float* p) { return _mm256_load_ps(p); }
inline vec vbroadcast(const float* p) { return _mm256_broadcast_ss(p); }
inline vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
inline lane_mask vmask(int64_t n) {
    const int32_t k = static_cast<int32_t>(std::clamp<int64_t>(n, 0, VL));
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline vec vload_masked(const float* p, lane_mask m) { return _mm256_maskload_ps(p, m); }
inline void vstore_masked(float* p, vec v, lane_mask m) { _mm256_maskstore_ps(p, m, v); }
inline vec vadd(vec a, vec b) { return _mm256_add_ps(a, b); }
#else
// Scalar fallback: a "vector" of 4 floats the compiler may vectorise itself.
constexpr int64_t VL = 4;
struct vec {
    float x[VL];
};
using lane_mask = int64_t;  // number of valid lanes
constexpr int64_t MR = 4;
inline vec vzero() { return vec{}; }
inline vec vload(const float* p) {
    vec v;
    for (int64_t l = 0; l < VL; ++l) v.x[l] = p[l];
    return v;
}
inline vec vbroadcast(const float* p) {
    vec v;
    for (int64_t l = 0; l < VL; ++l) v.x[l] = *p;
    return v;
}
inline vec vfma(vec a, vec b, vec c) {
    for (int64_t l = 0; l < VL; ++l) c.x[l] += a.x[l] * b.x[l];
    return c;
}
inline lane_mask vmask(int64_t n) { return std::clamp<int64_t>(n, 0, VL); }
inline vec vload_masked(const float* p, lane_mask m) {
    vec v{};
    for (int64_t l = 0; l < m; ++l) v.x[l] = p[l];
    return v;
}
inline void vstore_masked(float* p, vec v, lane_mask m) {
    for (int64_t l = 0; l < m; ++l) p[l] = v.x[l];
}
inline vec vadd(vec a, vec b) {
    for (int64_t l = 0; l < VL; ++l) a.x[l] += b.x[l];
    return a;
}
#endif

// ---- tile sizes, each tied to the cache level it targets -------------------
// Register tile MR x NR: see MR above; NR = two vector registers per row.
constexpr int64_t NR = 2 * VL;
// KC: depth of one rank-KC update, the K extent of every packed sliver.
// Each micro-kernel call loads and stores its MR x NR tile of C once, so a
// deep KC amortises that over more FMAs. Per k step the kernel reads one row
// of the B sliver (NR floats = 128 B) and MR floats of A (32 B) for 16 FMAs,
// i.e. 10 B per cycle at one 512-bit FMA per cycle (Zen 4 splits it into two
// 256-bit halves): L2 delivers 32 B per cycle, so the B sliver (KC x NR x 4 B
// = 64 KiB) may live in L2 rather than L1d (32 KiB), while the A sliver
// being read (MR x KC x 4 B = 16 KiB) stays in L1d. Measured on Zen 4,
// KC = 512 beats KC = 192 (B sliver in L1d) by about 10%.
constexpr int64_t KC = 512;
// MC: rows of the packed A block (MC x KC) that the jr loop sweeps once per
// B sliver, so it must stay in L2 (1 MiB per core): 256 x 512 x 4 B = 512 KiB,
// half of L2, leaving the other half for the B slivers streaming through and
// the C rows being updated.
constexpr int64_t MC = 256;
// NC: columns of the packed B panel (KC x NC), re-read once per MC block:
// 512 x 2048 x 4 B = 4 MiB per thread lives in L3 (32 MiB shared, so two
// threads use a quarter of it); a wide NC means A blocks are packed fewer times.
constexpr int64_t NC = 2048;

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
constexpr int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Split `total` into equal steps of at most `max_step`, rounded up to
// `grain`: K = 784 becomes 2 x 392 rather than 512 + 272,
// so no block is left with a sliver of work.
int64_t balanced_step(int64_t total, int64_t max_step, int64_t grain) {
    const int64_t blocks = ceil_div(total, max_step);
    return std::min(max_step, round_up(ceil_div(total, blocks), grain));
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
void transpose_copy(const float* src, int64_t src_stride, int64_t rows, int64_t cols,
                    float* dst, int64_t dst_stride) {
    int64_t r0 = 0;
#if defined(__AVX__)
    for (; r0 + 8 <= rows; r0 += 8) {
        int64_t c0 = 0;
        for (; c0 + 8 <= cols; c0 += 8) {
            // The classic 8 x 8 transpose in three shuffle stages: pairs of
            // floats, then pairs of pairs, then 128-bit halves.
            __m256 r[8], t[8];
            for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (r0 + i) * src_stride + c0);
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
            for (int64_t r = r0; r < r0 + 8; ++r) dst[c * dst_stride + r] = src[r * src_stride + c];
    }
#endif
    for (int64_t r = r0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) dst[c * dst_stride + r] = src[r * src_stride + c];
}

// Pack op(A)[i0:i0+mc, k0:k0+kc] into slivers of MR rows: sliver s holds
// a[k*MR + r] = op(A)[i0 + s*MR + r, k0 + k], the order the micro-kernel reads.
void pack_a(const float* A, bool trans, int64_t lda, int64_t i0, int64_t k0, int64_t mc,
            int64_t kc, float* dst) {
    for (int64_t s = 0; s < mc; s += MR, dst += MR * kc) {
        const int64_t rows = std::min(MR, mc - s);
        if (trans) {  // op(A) rows are contiguous in memory along i: copy MR at a time
            for (int64_t k = 0; k < kc; ++k) {
                const float* src = at(A, true, lda, i0 + s, k0 + k);
                for (int64_t r = 0; r < rows; ++r) dst[k * MR + r] = src[r];
            }
        } else {  // rows of A run along k, the sliver along r: a transpose
            transpose_copy(at(A, false, lda, i0 + s, k0), lda, rows, kc, dst, MR);
        }
    }
}

// Pack op(B)[k0:k0+kc, j0:j0+nc] into slivers of NR columns: sliver s holds
// b[k*w + c] = op(B)[k0 + k, j0 + s*NR + c] with width w = NR, or w = VL for
// a last sliver of at most VL columns (the half-width micro-kernel reads it).
// Columns past the edge are zero so full-vector FMAs stay harmless.
void pack_b(const float* B, bool trans, int64_t ldb, int64_t k0, int64_t j0, int64_t kc,
            int64_t nc, float* dst) {
    for (int64_t s = 0; s < nc; s += NR, dst += NR * kc) {
        const int64_t cols = std::min(NR, nc - s);
        const int64_t w = cols <= VL ? VL : NR;
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

// The micro-kernel: C[0:ROWS, 0:n] (+)= op(A)[0:ROWS, 0:kc] @ b_sliver.
// ROWS (1..MR) and NV (vectors per row, 1 or 2) are compile-time constants,
// so acc[][] is fully unrolled into registers. op(A)[r, k] is read at
// a[r*a_row + k*a_k]: a packed sliver has a_row = 1, a_k = MR (fixed at
// compile time, the common case); an unpacked A passes its own strides.
// `accumulate` is false for the first KC block: C is overwritten, never
// read, so it never needs zeroing.
template <int ROWS, int NV, bool PACKED_A>
void micro_kernel(int64_t kc, const float* __restrict a, int64_t a_row, int64_t a_k,
                  const float* __restrict b, float* c, int64_t ldc, int64_t n, bool accumulate) {
    if constexpr (PACKED_A) {
        a_row = 1;
        a_k = MR;
    }
    vec acc[ROWS][NV];
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[r][v] = vzero();

    for (int64_t k = 0; k < kc; ++k, a += a_k, b += NV * VL) {
        vec bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) bv[v] = vload(b + v * VL);
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; ++r) {
            const vec ar = vbroadcast(a + r * a_row);
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) acc[r][v] = vfma(ar, bv[v], acc[r][v]);
        }
    }

    lane_mask mask[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) mask[v] = vmask(n - v * VL);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            float* p = c + r * ldc + v * VL;
            vec out = acc[r][v];
            if (accumulate) out = vadd(out, vload_masked(p, mask[v]));
            vstore_masked(p, out, mask[v]);
        }
    }
}

using kernel_fn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, float*, int64_t,
                           int64_t, bool);
using kernel_table = std::array<kernel_fn, MR>;  // indexed by rows - 1

template <int NV, bool PACKED_A, int... R>
constexpr kernel_table make_table(std::integer_sequence<int, R...>) {
    return {&micro_kernel<R + 1, NV, PACKED_A>...};
}

// One instantiation per edge case: kernels[packed_a][nv - 1][rows - 1].
constexpr auto rows_1_to_MR = std::make_integer_sequence<int, MR>{};
constexpr kernel_table kernels[2][2] = {
    {make_table<1, false>(rows_1_to_MR), make_table<2, false>(rows_1_to_MR)},
    {make_table<1, true>(rows_1_to_MR), make_table<2, true>(rows_1_to_MR)},
};

// A 64-byte aligned float buffer (one cache line, one AVX-512 register) that
// only grows: each thread keeps its own across calls, so steady-state GEMMs
// never allocate.
struct AlignedBuffer {
    static constexpr std::align_val_t alignment{64};
    struct Free {
        void operator()(float* p) const { ::operator delete[](p, alignment); }
    };
    std::unique_ptr<float, Free> data;
    int64_t size = 0;

    float* get(int64_t n) {
        if (n > size) {
            data.reset();  // free first: peak memory is one buffer, not two
            const auto bytes = static_cast<size_t>(n) * sizeof(float);
            data.reset(static_cast<float*>(::operator new[](bytes, alignment)));
            size = n;
        }
        return data.get();
    }
};

struct Operands {
    bool trans_a, trans_b;
    int64_t K;
    const float* A;
    int64_t lda;
    const float* B;
    int64_t ldb;
    float* C;
    int64_t ldc;
    bool trans_c;  // the loop nest computes C^T: element (i, j) goes to C[j*ldc + i]
};

// Add (or, for the first KC block, copy) an m x n register tile into C^T.
// Only the skinny case uses this, where C is small, so scalar stores are cheap.
void store_transposed(const float* tile, int64_t m, int64_t n, float* c, int64_t ldc,
                      bool accumulate) {
    for (int64_t j = 0; j < n; ++j)
        for (int64_t r = 0; r < m; ++r)
            c[j * ldc + r] = (accumulate ? c[j * ldc + r] : 0.0f) + tile[r * NR + j];
}

// The blocked loop nest (see the top of the file) for C[m0:m1, n0:n1], on one thread.
void gemm_block(const Operands& op, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    if (m1 <= m0 || n1 <= n0) return;
    thread_local AlignedBuffer a_buffer, b_buffer;
    const int64_t K = op.K;
    const int64_t kc_step = balanced_step(K, KC, 8);
    const int64_t mc_step = balanced_step(m1 - m0, MC, MR);
    const int64_t nc_step = balanced_step(n1 - n0, NC, NR);
    float* a_packed = a_buffer.get(round_up(mc_step, MR) * kc_step);
    float* b_packed = b_buffer.get(round_up(nc_step, NR) * kc_step);

    for (int64_t jc = n0; jc < n1; jc += nc_step) {
        const int64_t nc = std::min(nc_step, n1 - jc);
        for (int64_t pc = 0; pc < K; pc += kc_step) {
            const int64_t kc = std::min(kc_step, K - pc);
            pack_b(op.B, op.trans_b, op.ldb, pc, jc, kc, nc, b_packed);
            // Packing A pays off when the packed block is re-read by many B
            // slivers. With one or two (N <= 2 NR, e.g. 64 x 64 x 64) the copy
            // costs more than it saves (measured: 5-7% slower), so the
            // micro-kernel reads op(A) in place, one stream per row.
            const bool pack = nc > 2 * NR;
            for (int64_t ic = m0; ic < m1; ic += mc_step) {
                const int64_t mc = std::min(mc_step, m1 - ic);
                if (pack) pack_a(op.A, op.trans_a, op.lda, ic, pc, mc, kc, a_packed);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int64_t n = std::min(NR, nc - jr);
                    const kernel_table& table = kernels[pack][n <= VL ? 0 : 1];
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int64_t m = std::min(MR, mc - ir);
                        const float* a = pack ? a_packed + ir * kc
                                              : at(op.A, op.trans_a, op.lda, ic + ir, pc);
                        const int64_t a_row = op.trans_a ? 1 : op.lda;
                        const int64_t a_k = op.trans_a ? op.lda : 1;
                        const float* b = b_packed + jr * kc;
                        if (op.trans_c) {
                            alignas(64) float tile[MR * NR];
                            table[m - 1](kc, a, a_row, a_k, b, tile, NR, n, false);
                            store_transposed(tile, m, n, op.C + (jc + jr) * op.ldc + ic + ir,
                                             op.ldc, pc > 0);
                        } else {
                            table[m - 1](kc, a, a_row, a_k, b, op.C + (ic + ir) * op.ldc + jc + jr,
                                         op.ldc, n, pc > 0);
                        }
                    }
                }
            }
        }
    }
}

// Part `part` of [0, n) cut into `parts` nearly equal pieces on multiples of `grain`.
[[maybe_unused]] std::pair<int64_t, int64_t> split(int64_t n, int parts, int part, int64_t grain) {
    const int64_t blocks = ceil_div(n, grain), per = blocks / parts, extra = blocks % parts;
    const int64_t b0 = part * per + std::min<int64_t>(part, extra);
    const int64_t b1 = b0 + per + (part < extra ? 1 : 0);
    return {std::min(n, b0 * grain), std::min(n, b1 * grain)};
}

// Threads: which loop to cut? Cutting only rows (ic) leaves one thread idle
// when M fits in one MC block (128 x 784 x 256); cutting only columns leaves
// one idle when N is 10. So the threads form a grid rows x cols with
// rows * cols = threads, and we pick the grid with the least work for the
// busiest thread: its padded tile (MR / VL granularity) times K, plus the
// packing it repeats (every thread packs the A rows and B columns it uses).
// Ties go to splitting rows: a thread then packs only its own rows of A (for
// a row-major A that is a transpose) and repeats the cheaper copy of B
// (measured: 256^3 runs about 6% faster split by rows than by columns).
[[maybe_unused]] std::pair<int, int> choose_grid(int64_t M, int64_t N, int64_t K, int threads) {
    std::pair<int, int> best{1, threads};
    double best_cost = -1.0;
    for (int rows = 1; rows <= threads; ++rows) {
        if (threads % rows) continue;
        const int cols = threads / rows;
        const double tile_m = static_cast<double>(round_up(ceil_div(M, rows), MR));
        const double tile_n = static_cast<double>(round_up(ceil_div(N, cols), VL));
        const double cost = tile_m * tile_n * K + 4.0 * (tile_m + tile_n) * K;
        if (best_cost < 0 || cost <= best_cost) {
            best_cost = cost;
            best = {rows, cols};
        }
    }
    return best;
}

// Threads only pay off above a minimum amount of work: an OpenMP fork/join
// costs microseconds, and far more when the other core is busy and the
// worker must wait to be scheduled. Up to 64 x 64 x 64 multiply-adds
// (~5 us on one core) stay on one thread, the same cut-off OpenBLAS uses.
constexpr int64_t MIN_THREADED_WORK = int64_t(1) << 18;

}  // namespace

void sgemm_threads(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                   int max_threads) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
        return;
    }
    // Skinny C (N well below one vector, e.g. 128 x 10 logits): vectors along
    // N would be mostly padding, so compute C^T = op(B)^T op(A)^T instead,
    // whose rows run along M and fill whole vectors; transposing an operand
    // is only a flag for the packing code.
    const bool skinny = N * ceil_div(M, VL) * 4 < M * ceil_div(N, VL) * 3;
    if (skinny) {
        std::swap(M, N);
        std::swap(A, B);
        std::swap(lda, ldb);
        const bool ta = trans_a;
        trans_a = !trans_b;
        trans_b = !ta;
    }
    const Operands op{trans_a, trans_b, K, A, lda, B, ldb, C, ldc, skinny};
#ifdef _OPENMP
    const int threads = M * N * K > MIN_THREADED_WORK ? std::max(1, max_threads) : 1;
    if (threads > 1) {
        const auto [grid_rows, grid_cols] = choose_grid(M, N, K, threads);
#pragma omp parallel num_threads(threads)
        {
            const int t = omp_get_thread_num();
            const auto [m0, m1] = split(M, grid_rows, t / grid_cols, MR);
            const auto [n0, n1] = split(N, grid_cols, t % grid_cols, VL);
            gemm_block(op, m0, m1, n0, n1);
        }
        return;
    }
#else
    (void)max_threads;  // built without OpenMP: one thread
#endif
    gemm_block(op, 0, M, 0, N);
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
           int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
    sgemm_threads(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, get_num_threads());
}

void sgemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float* A, int64_t stride_a, int64_t lda, const float* B,
                   int64_t stride_b, int64_t ldb, float* C, int64_t stride_c, int64_t ldc) {
    const int threads = get_num_threads();
    // Many small matrices (attention heads, a batch of 64 x 64 products):
    // one whole matrix per thread beats splitting each tiny matrix in two.
    // One big matrix per batch entry: let sgemm split each one instead.
    const bool per_matrix_threads = M * N * K >= MIN_THREADED_WORK * threads * 8;
    if (threads == 1 || batch < threads || per_matrix_threads) {
        for (int64_t i = 0; i < batch; ++i)
            sgemm(trans_a, trans_b, M, N, K, A + i * stride_a, lda, B + i * stride_b, ldb,
                  C + i * stride_c, ldc);
        return;
    }
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int64_t i = 0; i < batch; ++i)
        sgemm_threads(trans_a, trans_b, M, N, K, A + i * stride_a, lda, B + i * stride_b, ldb,
                      C + i * stride_c, ldc, 1);
}

}  // namespace tinytorch
