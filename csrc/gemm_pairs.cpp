// The AVX2 sgemm's register tile for large products (Module 15): 12 x 8 from
// broadcast *pairs*, instead of 6 x 16 from broadcast singles.
//
// The 6 x 16 micro-kernel of matmul.cpp spends, per k step, 2 vector loads of
// B and 6 single-float broadcasts of A on 12 FMAs. On AMD Zen 3 a broadcast of
// one float (vbroadcastss ymm, m32) is slower than a broadcast of a float pair
// (vbroadcastsd ymm, m64): a 12-FMA loop with data in L1 ran at 74-84 GFLOP/s
// on one core with single broadcasts and 83-96 with pairs (FMA peak 102).
// So this tile broadcasts A two rows at a time and duplicates B in place:
//
//   ap = [a(2p), a(2p+1)] x 4          (vbroadcastsd: rows 2p, 2p+1 of A)
//   be = [b0 b0 b2 b2 b4 b4 b6 b6]     (vmovsldup: even columns of B, doubled)
//   bo = [b1 b1 b3 b3 b5 b5 b7 b7]     (vmovshdup: odd columns)
//   e[p] += ap * be   lanes: C(2p,0) C(2p+1,0) C(2p,2) C(2p+1,2) ...
//   o[p] += ap * bo   lanes: C(2p,1) C(2p+1,1) C(2p,3) C(2p+1,3) ...
//
// for p = 0..5: 12 accumulators, 2 + 6 loads for 12 FMAs as before, but only
// pair broadcasts. After the k loop two blends per pair put rows 2p and 2p+1
// back together (once per KC steps, so the shuffles cost nothing):
//
//   row 2p   = blend(e, movsldup(o))   [e0 o0 e2 o2 e4 o4 e6 o6]
//   row 2p+1 = blend(movshdup(e), o)   [e1 o1 e3 o3 e5 o5 e7 o7]
//
// The loop nest, blocking and threading are the sgemm's (matmul.cpp); only
// the tile and its packing differ: A slivers of 12 rows, B slivers of 8
// columns, both zero-padded at the edges. Edge tiles are computed whole into
// a small buffer and the valid part is added to C.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

#include "gemm_pack.h"
#include "kernels.h"
#include "simd.h"

#if defined(__AVX2__) && defined(__FMA__) && !defined(__AVX512F__)
#include <immintrin.h>

namespace tinytorch {
namespace gemm {
namespace {

constexpr int64_t PR = 12;  // rows of the pair tile (6 pairs)
constexpr int64_t PC = 8;   // columns (one ymm vector)

// C[0:12, 0:8] (+)= a-sliver @ b-sliver over kc steps (a, b packed as above).
__attribute__((noinline)) void kernel_12x8(int64_t kc, const float* __restrict a,
                                           const float* __restrict b, float* c, int64_t ldc,
                                           bool accumulate) {
    __m256 e[6], o[6];
#pragma GCC unroll 6
    for (int p = 0; p < 6; ++p) e[p] = o[p] = _mm256_setzero_ps();
    auto steps = [&](int64_t n) __attribute__((always_inline)) {
#pragma GCC unroll 2
        for (int64_t k = 0; k < n; ++k, a += PR, b += PC) {
            const __m256 be = _mm256_moveldup_ps(_mm256_load_ps(b));
            const __m256 bo = _mm256_movehdup_ps(_mm256_load_ps(b));
#pragma GCC unroll 6
            for (int p = 0; p < 6; ++p) {
                const __m256 ap = _mm256_castpd_ps(
                    _mm256_broadcast_sd(reinterpret_cast<const double*>(a + 2 * p)));
                e[p] = _mm256_fmadd_ps(ap, be, e[p]);
                o[p] = _mm256_fmadd_ps(ap, bo, o[p]);
            }
        }
    };
    // Ask for C's lines late in the k loop. With a row stride of 4 KiB (a
    // 1024-wide C) all 12 rows map to one L1 set, so lines fetched long before
    // the stores are likely evicted again by the A and B streams. Measured
    // (1040^3, one thread, one process): no prefetch 78.3 GFLOP/s; 16, 32 and
    // 64 steps before the end 82.3, 84.3 and 84.8.
    const int64_t tail = std::min<int64_t>(kc, 32);
    steps(kc - tail);
#pragma GCC unroll 12
    for (int r = 0; r < PR; ++r) __builtin_prefetch(c + r * ldc, 1);
    steps(tail);
#pragma GCC unroll 6
    for (int p = 0; p < 6; ++p) {
        __m256 r0 = _mm256_blend_ps(e[p], _mm256_moveldup_ps(o[p]), 0xAA);
        __m256 r1 = _mm256_blend_ps(_mm256_movehdup_ps(e[p]), o[p], 0xAA);
        float* c0 = c + (2 * p) * ldc;
        float* c1 = c0 + ldc;
        if (accumulate) {
            r0 = _mm256_add_ps(r0, _mm256_loadu_ps(c0));
            r1 = _mm256_add_ps(r1, _mm256_loadu_ps(c1));
        }
        _mm256_storeu_ps(c0, r0);
        _mm256_storeu_ps(c1, r1);
    }
}


// One A block against one packed B panel:
// C[ic:ic+mc, jc:jc+nc] (+)= op(A)[ic:ic+mc, pc:pc+kc] @ panel (packs the A block first).
void pairs_block(bool trans_a, const float* A, int64_t lda, float* C, int64_t ldc, int64_t ic,
                 int64_t mc, int64_t pc, int64_t kc, int64_t jc, int64_t nc,
                 const float* b_packed, float* a_packed) {
    pack_a_slivers<PR>(A, trans_a, lda, ic, pc, mc, kc, a_packed);
    pairs_block_packed(a_packed, mc, kc, b_packed, nc, C + ic * ldc + jc, ldc, pc > 0);
}

// Each thread's packed A block and B panel, for both loop nests below.
thread_local simd::AlignedBuffer a_buffer, b_buffer;

struct PairSteps {
    int64_t kc, mc, nc;
};

// (MC and NC are multiples of the 6 x 16 tile's MR and NR; round them to this tile's)
PairSteps pair_steps(int64_t M, int64_t N, int64_t K, int64_t mc_max) {
    const GemmBlocking& blocking = gemm_blocking();
    return {balanced_step(K, blocking.kc, 8),
            balanced_step(M, std::min(simd::round_up(blocking.mc, PR), mc_max), PR),
            balanced_step(N, simd::round_up(blocking.nc, PC), PC)};
}

}  // namespace

// (gemm_pack.h) Eight columns per sliver, B rows k0.. of op(B), zero past nc.
void pack_b_pairs(const float* B, bool trans, int64_t ldb, int64_t k0, int64_t j0, int64_t kc,
                  int64_t nc, float* dst) {
    if (!trans) {
        // Eight rows of B at a time across all slivers: each row is read
        // front to back (a 64-byte line feeds two slivers while it is in L1),
        // instead of one 32-byte piece of every row per sliver, which with a
        // 4 KiB row stride misses on every line and every page.
        const int64_t full = nc / PC * PC;
        for (int64_t kb = 0; kb < kc; kb += 8) {
            const int64_t ke = std::min(kc, kb + 8);
            for (int64_t s = 0; s < full; s += PC) {
                float* d = dst + s * kc;
                for (int64_t k = kb; k < ke; ++k)
                    _mm256_store_ps(d + k * PC, _mm256_loadu_ps(at(B, false, ldb, k0 + k, j0 + s)));
            }
        }
        if (full < nc) {
            float* d = dst + full * kc;
            for (int64_t k = 0; k < kc; ++k) {
                const float* src = at(B, false, ldb, k0 + k, j0 + full);
                for (int64_t c = 0; c < PC; ++c) d[k * PC + c] = full + c < nc ? src[c] : 0.0f;
            }
        }
        return;
    }
    for (int64_t s = 0; s < nc; s += PC, dst += PC * kc) {
        const int64_t cols = std::min(PC, nc - s);
        transpose_copy(at(B, true, ldb, k0, j0 + s), ldb, cols, kc, dst, PC);
        zero_lanes(dst, PC, cols, kc);
    }
}

void pairs_block_packed(const float* a_packed, int64_t mc, int64_t kc, const float* b_packed,
                        int64_t nc, float* C, int64_t ldc, bool accumulate) {
    for (int64_t jr = 0; jr < nc; jr += PC) {
        const int64_t n = std::min(PC, nc - jr);
        const float* b = b_packed + jr * kc;
        for (int64_t ir = 0; ir < mc; ir += PR) {
            const int64_t m = std::min(PR, mc - ir);
            const float* a = a_packed + ir * kc;
            float* c = C + ir * ldc + jr;
            if (m == PR && n == PC) {
                kernel_12x8(kc, a, b, c, ldc, accumulate);
                continue;
            }
            alignas(32) float tile[PR * PC];
            kernel_12x8(kc, a, b, tile, PC, false);
            for (int64_t r = 0; r < m; ++r)
                for (int64_t j = 0; j < n; ++j)
                    c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.0f) + tile[r * PC + j];
        }
    }
}

std::atomic<bool> pair_tile_enabled{true};
std::atomic<bool> dynamic_schedule{true};

bool pair_tile_applies(int64_t M, int64_t N, int64_t K) {
    // Packing both operands into 12 x 8 slivers pays off once the sliver is
    // deep enough. Measured on one thread (AVX2 Zen 3, against the 6 x 16 tile
    // call by call in one process): 512 x K x 512 with K = 32 7% slower, K = 64
    // even, K = 128 2% faster; 48 x 512 x 64 +12%, 128 x 784 x 256 +7%,
    // 2048 x 128 x 128 +5%, 1024^3 0 to +5%, but 128 x 128 x 2048 -3% (noise);
    // with N = 32 (two B slivers) the 6 x 16 path reads A unpacked and wins.
    return pair_tile_enabled.load(std::memory_order_relaxed) && M >= 2 * PR && N >= 8 * PC &&
           K >= 128;
}

void gemm_block_pairs(bool trans_a, bool trans_b, int64_t K, const float* A, int64_t lda,
                      const float* B, int64_t ldb, float* C, int64_t ldc, int64_t m0, int64_t m1,
                      int64_t n0, int64_t n1) {
    if (m1 <= m0 || n1 <= n0) return;
    const PairSteps st = pair_steps(m1 - m0, n1 - n0, K, INT64_MAX);
    float* a_packed = a_buffer.get(simd::round_up(st.mc, PR) * st.kc);
    float* b_packed = b_buffer.get(simd::round_up(st.nc, PC) * st.kc);
    for (int64_t jc = n0; jc < n1; jc += st.nc) {
        const int64_t nc = std::min(st.nc, n1 - jc);
        for (int64_t pc = 0; pc < K; pc += st.kc) {
            const int64_t kc = std::min(st.kc, K - pc);
            pack_b_pairs(B, trans_b, ldb, pc, jc, kc, nc, b_packed);
            for (int64_t ic = m0; ic < m1; ic += st.mc)
                pairs_block(trans_a, A, lda, C, ldc, ic, std::min(st.mc, m1 - ic), pc, kc, jc, nc,
                            b_packed, a_packed);
        }
    }
}

bool gemm_pairs_dynamic(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                        const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                        int64_t ldc, int threads) {
#ifdef _OPENMP
    // A static split into one row range per thread waits, at the end, for the
    // thread whose core was busiest: on this shared machine 4-8% of a 1024^3
    // product at 2 threads went to libgomp's final barrier (perf), against 1%
    // with this schedule. Here the work is a list of (B panel, A block) items,
    // panel by panel, about four blocks per thread (at least two), handed out
    // in order. Each thread packs every panel it meets itself, as every thread
    // of a split by rows does, so the only thing shared is C: block b of panel
    // p adds to the rows block b of panel p - 1 wrote, so it waits until
    // done[b] == p. The oldest unfinished item never waits, so nothing stalls.
    const PairSteps st = pair_steps(M, N, K, simd::round_up(simd::ceil_div(M, 4 * threads), PR));
    const int64_t blocks = simd::ceil_div(M, st.mc);
    if (blocks < 2 * threads) return false;
    const int64_t kpanels = simd::ceil_div(K, st.kc), panels = simd::ceil_div(N, st.nc) * kpanels;
    const int64_t items = panels * blocks;
    std::unique_ptr<std::atomic<int64_t>[]> done(new std::atomic<int64_t>[blocks]);
    for (int64_t b = 0; b < blocks; ++b) done[b].store(0, std::memory_order_relaxed);
    std::atomic<int64_t> next{0};
#pragma omp parallel num_threads(threads)
    {
        float* a_packed = a_buffer.get(simd::round_up(st.mc, PR) * st.kc);
        float* b_packed = b_buffer.get(simd::round_up(st.nc, PC) * st.kc);
        int64_t packed = -1;  // the panel now in b_packed
        for (int64_t item; (item = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
            const int64_t p = item / blocks, b = item % blocks;
            const int64_t jc = p / kpanels * st.nc, pc = p % kpanels * st.kc;
            const int64_t nc = std::min(st.nc, N - jc), kc = std::min(st.kc, K - pc);
            if (packed != p) {
                pack_b_pairs(B, trans_b, ldb, pc, jc, kc, nc, b_packed);
                packed = p;
            }
            while (done[b].load(std::memory_order_acquire) < p) _mm_pause();
            const int64_t ic = b * st.mc;
            pairs_block(trans_a, A, lda, C, ldc, ic, std::min(st.mc, M - ic), pc, kc, jc, nc,
                        b_packed, a_packed);
            done[b].store(p + 1, std::memory_order_release);
        }
    }
    return true;
#else
    (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B,
        (void)ldb, (void)C, (void)ldc, (void)threads;
    return false;
#endif
}

}  // namespace gemm

bool set_gemm_pair_tile(bool enabled) {
    gemm::pair_tile_enabled.store(enabled, std::memory_order_relaxed);
    return true;
}
bool gemm_pair_tile_enabled() { return gemm::pair_tile_enabled.load(std::memory_order_relaxed); }
bool set_gemm_dynamic(bool enabled) {
    gemm::dynamic_schedule.store(enabled, std::memory_order_relaxed);
    return true;
}
bool gemm_dynamic_enabled() { return gemm::dynamic_schedule.load(std::memory_order_relaxed); }

}  // namespace tinytorch

#else  // not an AVX2-only build: the pair tile does not exist

namespace tinytorch {
bool set_gemm_pair_tile(bool) { return false; }
bool gemm_pair_tile_enabled() { return false; }
bool set_gemm_dynamic(bool) { return false; }
bool gemm_dynamic_enabled() { return false; }
}  // namespace tinytorch

#endif
