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
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"
#include "gemm_pack.h"
#include "simd.h"

namespace tinytorch {
namespace {

// The vector unit (vec, VL, MR, vload, vfma, ...) lives in simd.h, shared
// with the other SIMD kernels.
using namespace simd;
using gemm::at;
using gemm::balanced_step;
using gemm::pack_a;
using gemm::pack_b;

// ---- tile sizes, each tied to the cache level it targets -------------------
// Register tile MR x NR: MR rows in simd.h, NR = NV vector registers per row
// in gemm_pack.h, whose slivers are NR wide. The cache tiles KC, MC, NC are
// derived at run time from this CPU's cache sizes (gemm_blocking.cpp).
using gemm::NR;
using gemm::NV;

// The micro-kernel: C[0:ROWS, 0:n] (+)= op(A)[0:ROWS, 0:kc] @ b_sliver.
// ROWS (1..MR) and VECS (vectors per row, 1..NV) are compile-time constants,
// so acc[][] is fully unrolled into registers. op(A)[r, k] is read at
// a[r*a_row + k*a_k]: a packed sliver has a_row = 1, a_k = MR (fixed at
// compile time, the common case); an unpacked A passes its own strides.
// Row k of the B sliver starts at b + k*b_k: VECS*VL in a packed sliver, ldb
// for a small B read in place.
// `accumulate` is false for the first KC block: C is overwritten, never
// read, so it never needs zeroing. A full tile (n = VECS*VL) is loaded and
// stored with plain vector moves: masked stores are microcoded on AMD Zen
// (about 10x slower than a store), so only a ragged last tile uses a mask.
template <int ROWS, int VECS, bool PACKED_A>
void micro_kernel(int64_t kc, const float* __restrict a, int64_t a_row, int64_t a_k,
                  const float* __restrict b, int64_t b_k, float* c, int64_t ldc, int64_t n,
                  bool accumulate) {
    if constexpr (PACKED_A) {
        a_row = 1;
        a_k = MR;
    }
    // C is touched only after the k loop: ask for its lines now, so their
    // misses overlap the FMAs instead of stalling the stores.
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
        __builtin_prefetch(c + r * ldc, 1);
        __builtin_prefetch(c + r * ldc + VECS * VL - 1, 1);
    }
    vec acc[ROWS][VECS];
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < VECS; ++v) acc[r][v] = vzero();

#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; ++k, a += a_k, b += b_k) {
        vec bv[VECS];
#pragma GCC unroll 4
        for (int v = 0; v < VECS; ++v) bv[v] = vloadu(b + v * VL);
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; ++r) {
            const vec ar = vbroadcast(a + r * a_row);
#pragma GCC unroll 4
            for (int v = 0; v < VECS; ++v) acc[r][v] = vfma(ar, bv[v], acc[r][v]);
        }
    }

    if (n == VECS * VL) {
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 4
            for (int v = 0; v < VECS; ++v) {
                float* p = c + r * ldc + v * VL;
                vstoreu(p, accumulate ? vadd(acc[r][v], vloadu(p)) : acc[r][v]);
            }
        return;
    }
    lane_mask mask[VECS];
#pragma GCC unroll 4
    for (int v = 0; v < VECS; ++v) mask[v] = vmask(n - v * VL);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < VECS; ++v) {
            float* p = c + r * ldc + v * VL;
            vec out = acc[r][v];
            if (accumulate) out = vadd(out, vload_masked(p, mask[v]));
            vstore_masked(p, out, mask[v]);
        }
    }
}

using kernel_fn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*,
                           int64_t, int64_t, bool);
using kernel_table = std::array<kernel_fn, MR>;  // indexed by rows - 1

template <int VECS, bool PACKED_A, int... R>
constexpr kernel_table make_table(std::integer_sequence<int, R...>) {
    return {&micro_kernel<R + 1, VECS, PACKED_A>...};
}

template <bool PACKED_A, int... V>
constexpr std::array<kernel_table, NV> make_tables(std::integer_sequence<int, V...>) {
    return {make_table<V + 1, PACKED_A>(std::make_integer_sequence<int, MR>{})...};
}

// One instantiation per edge case: kernels[packed_a][vecs - 1][rows - 1].
constexpr auto vecs_1_to_NV = std::make_integer_sequence<int, NV>{};
constexpr std::array<kernel_table, NV> kernels[2] = {make_tables<false>(vecs_1_to_NV),
                                                    make_tables<true>(vecs_1_to_NV)};

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
#ifdef TINYTORCH_GEMM_PAIRS
    if (!op.trans_c && gemm::pair_tile_applies(m1 - m0, n1 - n0, op.K)) {
        gemm::gemm_block_pairs(op.trans_a, op.trans_b, op.K, op.A, op.lda, op.B, op.ldb, op.C,
                               op.ldc, m0, m1, n0, n1);
        return;
    }
#endif
    thread_local AlignedBuffer a_buffer, b_buffer;
    const GemmBlocking& blocking = gemm_blocking();
    const int64_t K = op.K;
    const int64_t kc_step = balanced_step(K, blocking.kc, 8);
    const int64_t mc_step = balanced_step(m1 - m0, blocking.mc, MR);
    const int64_t nc_step = balanced_step(n1 - n0, blocking.nc, NR);
    float* a_packed = a_buffer.get(round_up(mc_step, MR) * kc_step);
    // A small row-major B, all of it within half of L1d and whole vectors wide
    // (64 x 64), is read in place: packing it would copy every element to read
    // it from L1 anyway (5% of a 64^3 product, perf, AVX-512 Zen 4). Row k of
    // a sliver is then 1-2 cache lines ldb floats apart instead of contiguous,
    // which L1 holds as well as long as the whole of B fits.
    const bool b_in_place =
        !op.trans_b && (n1 - n0) % VL == 0 && K * op.ldb * 4 <= blocking.l1d / 2;
    float* b_packed = b_in_place ? nullptr : b_buffer.get(round_up(nc_step, NR) * kc_step);

    for (int64_t jc = n0; jc < n1; jc += nc_step) {
        const int64_t nc = std::min(nc_step, n1 - jc);
        for (int64_t pc = 0; pc < K; pc += kc_step) {
            const int64_t kc = std::min(kc_step, K - pc);
            if (!b_in_place) pack_b(op.B, op.trans_b, op.ldb, pc, jc, kc, nc, b_packed);
            // Packing A pays off when the packed block is re-read by many B
            // slivers. With one or two (N <= 2 NR, e.g. 64 x 64 x 64) the copy
            // costs more than it saves (measured: 5-7% slower), so the
            // micro-kernel reads op(A) in place, one stream per row.
            const bool pack = nc > 2 * NR;
            for (int64_t ic = m0; ic < m1; ic += mc_step) {
                const int64_t mc = std::min(mc_step, m1 - ic);
                if (pack) pack_a(op.A, op.trans_a, op.lda, ic, pc, mc, kc, a_packed);
                if (pack && !op.trans_c && !b_in_place) {
                    gemm::tile_block_packed(a_packed, mc, kc, b_packed, nc,
                                            op.C + ic * op.ldc + jc, op.ldc, pc > 0);
                    continue;
                }
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int64_t n = std::min(NR, nc - jr);
                    const kernel_table& table = kernels[pack][ceil_div(n, VL) - 1];
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int64_t m = std::min(MR, mc - ir);
                        const float* a = pack ? a_packed + ir * kc
                                              : at(op.A, op.trans_a, op.lda, ic + ir, pc);
                        const int64_t a_row = op.trans_a ? 1 : op.lda;
                        const int64_t a_k = op.trans_a ? op.lda : 1;
                        const float* b = b_in_place ? at(op.B, false, op.ldb, pc, jc + jr)
                                                    : b_packed + jr * kc;
                        const int64_t b_k = b_in_place ? op.ldb : ceil_div(n, VL) * VL;
                        if (op.trans_c) {
                            alignas(64) float tile[MR * NR];
                            table[m - 1](kc, a, a_row, a_k, b, b_k, tile, NR, n, false);
                            store_transposed(tile, m, n, op.C + (jc + jr) * op.ldc + ic + ir,
                                             op.ldc, pc > 0);
                        } else {
                            table[m - 1](kc, a, a_row, a_k, b, b_k,
                                         op.C + (ic + ir) * op.ldc + jc + jr, op.ldc, n, pc > 0);
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

// The work of the busiest thread of a rows x cols grid over C: its tile padded
// to whole MR rows and VL columns, times K, plus the packing it repeats (every
// thread packs the A rows and B columns it uses, weighted 4x a multiply-add).
[[maybe_unused]] double grid_cost(int64_t M, int64_t N, int64_t K, int rows, int cols) {
    const double tile_m = static_cast<double>(round_up(ceil_div(M, rows), MR));
    const double tile_n = static_cast<double>(round_up(ceil_div(N, cols), VL));
    return tile_m * tile_n * K + 4.0 * (tile_m + tile_n) * K;
}

// Threads: which loop to cut? Cutting only rows (ic) leaves one thread idle
// when M fits in one MC block (128 x 784 x 256); cutting only columns leaves
// one idle when N is 10. So the threads form a grid rows x cols with
// rows * cols = threads, and we pick the grid with the least work for the
// busiest thread (grid_cost). Ties go to splitting rows: a thread then packs only its own rows of A (for
// a row-major A that is a transpose) and repeats the cheaper copy of B
// (measured: 256^3 runs about 6% faster split by rows than by columns).
[[maybe_unused]] std::pair<int, int> choose_grid(int64_t M, int64_t N, int64_t K, int threads) {
    std::pair<int, int> best{1, threads};
    double best_cost = -1.0;
    for (int rows = 1; rows <= threads; ++rows) {
        if (threads % rows) continue;
        const int cols = threads / rows;
        const double cost = grid_cost(M, N, K, rows, cols);
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

void gemm::tile_block_packed(const float* a_packed, int64_t mc, int64_t kc,
                             const float* b_packed, int64_t nc, float* C, int64_t ldc,
                             bool accumulate) {
    for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t n = std::min(NR, nc - jr), vecs = ceil_div(n, VL);
        const kernel_table& table = kernels[1][vecs - 1];
        for (int64_t ir = 0; ir < mc; ir += MR)
            table[std::min(MR, mc - ir) - 1](kc, a_packed + ir * kc, 1, MR, b_packed + jr * kc,
                                             vecs * VL, C + ir * ldc + jr, ldc, n, accumulate);
    }
}

void sgemm_threads(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                   int max_threads) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
        return;
    }
    // A few rows (one token, one sample): no packing, B streamed once (gemm_small.cpp)
    if (sgemm_small(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, max_threads)) return;
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
#ifdef TINYTORCH_GEMM_PAIRS
        // Blocks handed out as threads become free (gemm_pairs_dynamic) pack
        // B like a split by rows: take them unless that packs much more than
        // the grid chosen above (the 3% is about what the static split's
        // final wait cost on a shared machine: perf, 1024^3, 2 threads).
        if (!skinny && gemm_dynamic_enabled() && gemm::pair_tile_applies(M, N, K) &&
            grid_cost(M, N, K, threads, 1) <= 1.03 * grid_cost(M, N, K, grid_rows, grid_cols) &&
            gemm::gemm_pairs_dynamic(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, threads))
            return;
#endif
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
