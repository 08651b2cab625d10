// int8 GEMM with int32 accumulation and a fused epilogue (Module 17).
//
//   acc[i, j] = sum_k A[i, k] * W[j, k]          A: u8 or s8 (M x K), W: s8 (N x K)
//   y[i, j]   = (acc - a_zp[i] * colsum[j]) * a_scale[i] * w_scale[j] + bias[j]
//             (optional ReLU; float32 out, or requantized to int8 / uint8)
//
// The loop nest is the fp32 sgemm's (matmul.cpp: Goto/BLIS blocking, packed
// slivers, a register-tiled micro-kernel, threads on a grid of C rectangles);
// what changes is the element type and who owns the packing format: each
// instruction-set path (qgemm.h) packs for its own micro-kernel, and the
// driver picks the best path the CPU supports at run time:
//   AVX-512 VNNI > AVX-VNNI > AVX2 (int16 widening, qgemm_avx2.cpp) > scalar.
// The epilogue runs on each MR x NR tile right after its last K block, while
// the int32 tile is still in L1: the int32 matrix C never exists in memory
// (unless the caller asks for it, qgemm_s32).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"
#include "qgemm.h"
#include "simd.h"

namespace tinytorch {
namespace qgemm {
namespace {

using simd::AlignedBuffer;
using simd::ceil_div;
using simd::round_up;

// ---- the scalar path: the loop nest with int32 operands ---------------------
constexpr int64_t SMR = 4, SNR = 8;

void pack_a_scalar(const uint8_t* A, int64_t lda, bool a_signed, int64_t i0, int64_t k0,
                   int64_t mc, int64_t kc, void* dst) {
    int32_t* out = static_cast<int32_t*>(dst);
    for (int64_t s = 0; s < mc; s += SMR, out += SMR * kc)
        for (int64_t r = 0; r < SMR; ++r)
            for (int64_t k = 0; k < kc; ++k) {
                int32_t v = 0;
                if (s + r < mc) {
                    const uint8_t x = A[(i0 + s + r) * lda + k0 + k];
                    v = a_signed ? int32_t(int8_t(x)) : int32_t(x);
                }
                out[k * SMR + r] = v;
            }
}

void pack_b_scalar(const int8_t* W, int64_t ldw, int64_t j0, int64_t k0, int64_t nc,
                   int64_t kc, void* dst) {
    int32_t* out = static_cast<int32_t*>(dst);
    for (int64_t s = 0; s < nc; s += SNR, out += SNR * kc)
        for (int64_t c = 0; c < SNR; ++c)
            for (int64_t k = 0; k < kc; ++k)
                out[k * SNR + c] = s + c < nc ? int32_t(W[(j0 + s + c) * ldw + k0 + k]) : 0;
}

void kernel_scalar(int64_t kc, const void* a_, const void* b_, int32_t* tile) {
    const int32_t* a = static_cast<const int32_t*>(a_);
    const int32_t* b = static_cast<const int32_t*>(b_);
    int32_t acc[SMR][SNR] = {};
    // BEGIN SOLUTION 17
    for (int64_t k = 0; k < kc; ++k, a += SMR, b += SNR)
        for (int r = 0; r < SMR; ++r)
            for (int c = 0; c < SNR; ++c) acc[r][c] += a[r] * b[c];
    // END SOLUTION
    std::memcpy(tile, acc, sizeof(acc));
}

// ---- tile sizes (see qgemm_avx2.cpp for the register tile) ------------------
// KC: depth of one packed sliver. An AVX2 B sliver is KC x 16 int16 pairs:
// 512 x 16 x 2 B = 16 KiB, half of L1d, beside the 6 KiB A sliver.
constexpr int64_t KC = 512;
// MC: rows of the packed A block, MC x KC x 2 B = 256 KiB, half of L2 (512 KiB).
constexpr int64_t MC = 256;
// NC: columns of the packed B panel, KC x NC x 2 B = 2 MiB per thread in L3.
constexpr int64_t NC = 2048;
constexpr int64_t MIN_THREADED_WORK = int64_t(1) << 18;

int64_t balanced_step(int64_t total, int64_t max_step, int64_t grain) {
    const int64_t blocks = ceil_div(total, max_step);
    return std::min(round_up(max_step, grain), round_up(ceil_div(total, blocks), grain));
}

struct Problem {
    const Path* path;
    bool a_signed;
    int64_t M, N, K;
    const uint8_t* A;
    int64_t lda;
    const int8_t* W;
    int64_t ldw;
    int32_t* C;                // raw int32 output (qgemm_s32) or nullptr
    int64_t ldc;
    const Epilogue* ep;        // fused epilogue or nullptr
    const int32_t* shift;      // per column: subtract from acc (VNNI signed-A shift) or nullptr
    bool avx2_epilogue;
};

// A finished tile: undo the VNNI shift, then store raw or run the epilogue.
void finish_tile(const Problem& p, int32_t* tile, int64_t ld, int64_t i0, int64_t j0,
                 int64_t m, int64_t n) {
    if (p.shift)
        for (int64_t r = 0; r < m; ++r)
            for (int64_t c = 0; c < n; ++c) tile[r * ld + c] -= p.shift[j0 + c];
    if (p.ep) {
        if (p.avx2_epilogue) apply_epilogue_avx2(*p.ep, tile, ld, i0, j0, m, n);
        else apply_epilogue(*p.ep, tile, ld, i0, j0, m, n);
        return;
    }
    for (int64_t r = 0; r < m; ++r)
        std::memcpy(p.C + (i0 + r) * p.ldc + j0, tile + r * ld, n * sizeof(int32_t));
}

// The blocked loop nest for C[m0:m1, n0:n1] on one thread.
void qgemm_block(const Problem& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    if (m1 <= m0 || n1 <= n0) return;
    const Path& P = *p.path;
    thread_local AlignedBuffer a_buf, b_buf, acc_buf;
    // byte operands with 16 columns (u8 x s8, AVX-VNNI): a KC x 16 B sliver is half
    // the bytes of an int16 one, so twice the depth fits the same 16 KiB of L1 -- and
    // K = 1024 then needs no partial sums at all
    const int64_t kc_max = P.b_bytes == 1 && P.NR <= 16 ? 2 * KC : KC;
    const int64_t kc_step = balanced_step(p.K, kc_max, P.kgroup);
    const int64_t mc_step = balanced_step(m1 - m0, MC, P.MR);
    const int64_t nc_step = balanced_step(n1 - n0, NC, P.NR);
    const int64_t kcp_max = round_up(kc_step, P.kgroup);
    auto* a_packed = reinterpret_cast<uint8_t*>(
        a_buf.get(ceil_div(round_up(mc_step, P.MR) * kcp_max * P.a_bytes, 4)));
    auto* b_packed = reinterpret_cast<uint8_t*>(
        b_buf.get(ceil_div(round_up(nc_step, P.NR) * kcp_max * P.b_bytes, 4)));
    const bool blocked_k = p.K > kc_step;
    // Partial sums of several K blocks: in C itself, or in a scratch rectangle.
    int32_t* acc = p.C;
    int64_t ld_acc = p.ldc, acc_i0 = 0, acc_j0 = 0;
    if (blocked_k && p.ep) {
        acc = reinterpret_cast<int32_t*>(acc_buf.get((m1 - m0) * nc_step));
        ld_acc = nc_step;
        acc_i0 = m0;
    }
    alignas(64) int32_t tile[16 * 64];
    for (int64_t jc = n0; jc < n1; jc += nc_step) {
        const int64_t nc = std::min(nc_step, n1 - jc);
        if (acc != p.C) acc_j0 = jc;
        for (int64_t pc = 0; pc < p.K; pc += kc_step) {
            const int64_t kc = std::min(kc_step, p.K - pc);
            const int64_t kcp = round_up(kc, P.kgroup);
            const bool first = pc == 0, last = pc + kc >= p.K;
            P.pack_b(p.W, p.ldw, jc, pc, nc, kc, b_packed);
            for (int64_t ic = m0; ic < m1; ic += mc_step) {
                const int64_t mc = std::min(mc_step, m1 - ic);
                P.pack_a(p.A, p.lda, p.a_signed, ic, pc, mc, kc, a_packed);
                for (int64_t jr = 0; jr < nc; jr += P.NR) {
                    const int64_t n = std::min(P.NR, nc - jr);
                    for (int64_t ir = 0; ir < mc; ir += P.MR) {
                        const int64_t m = std::min(P.MR, mc - ir);
                        P.kernel(kcp, a_packed + ir * kcp * P.a_bytes,
                                 b_packed + jr * kcp * P.b_bytes, tile);
                        const int64_t i = ic + ir, j = jc + jr;
                        if (!blocked_k) {
                            finish_tile(p, tile, P.NR, i, j, m, n);
                            continue;
                        }
                        int32_t* dst = acc + (i - acc_i0) * ld_acc + (j - acc_j0);
                        if (p.avx2_epilogue && P.NR % 8 == 0) {  // 8 int32 per add
                            accumulate_tile_avx2(tile, P.NR, dst, ld_acc, m, n, first, last);
                            if (last) finish_tile(p, tile, P.NR, i, j, m, n);
                            continue;
                        }
                        for (int64_t r = 0; r < m; ++r)
                            for (int64_t c = 0; c < n; ++c) {
                                int32_t v = tile[r * P.NR + c];
                                if (!first) v += dst[r * ld_acc + c];
                                if (last) tile[r * P.NR + c] = v;
                                else dst[r * ld_acc + c] = v;
                            }
                        if (last) finish_tile(p, tile, P.NR, i, j, m, n);
                    }
                }
            }
        }
    }
}

std::pair<int64_t, int64_t> split(int64_t n, int parts, int part, int64_t grain) {
    const int64_t blocks = ceil_div(n, grain), per = blocks / parts, extra = blocks % parts;
    const int64_t b0 = part * per + std::min<int64_t>(part, extra);
    const int64_t b1 = b0 + per + (part < extra ? 1 : 0);
    return {std::min(n, b0 * grain), std::min(n, b1 * grain)};
}

// Threads form a rows x cols grid; the cost of a thread is its padded tile
// times K plus what it packs (every thread packs the A rows and W rows it
// uses). 256 x 1024 x 1024 on two threads: splitting the columns packs
// 256 + 512 rows per thread, splitting the rows 128 + 1024, so columns win.
std::pair<int, int> choose_grid(const Path& P, int64_t M, int64_t N, int64_t K, int threads) {
    std::pair<int, int> best{1, threads};
    double best_cost = -1.0;
    for (int rows = 1; rows <= threads; ++rows) {
        if (threads % rows) continue;
        const int cols = threads / rows;
        const double tm = double(round_up(ceil_div(M, rows), P.MR));
        const double tn = double(round_up(ceil_div(N, cols), P.NR));
        const double cost = tm * tn * K + 8.0 * (tm + tn) * K;
        if (best_cost < 0 || cost < best_cost) {
            best_cost = cost;
            best = {rows, cols};
        }
    }
    return best;
}

const Path* forced_path = nullptr;

}  // namespace

// Best path the CPU supports (or the one set_qgemm_path forced).
const Path& select_path() {
    if (forced_path) return *forced_path;
    static const Path* best = [] {
        if (const Path* p = avx512_vnni_path()) return p;
        if (const Path* p = avx_vnni_path()) return p;
        if (cpu_has_avx2()) return &avx2_u8s8_path();  // int16 unless A fits 7 bits
        return &scalar_path();
    }();
    return *best;
}

const Path& scalar_path() {
    static const Path path{"scalar", SMR, SNR, 1, 4, 4, &pack_a_scalar, &pack_b_scalar,
                           &kernel_scalar, false};
    return path;
}

void run(bool a_signed, int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda,
         const int8_t* W, int64_t ldw, int32_t* C, int64_t ldc, const Epilogue* ep,
         int max_threads) {
    // The AVX2 family: u8 x s8 (vpmaddubsw) when A is unsigned and fits in 7 bits,
    // else int16 widening. A forced "avx2" is the int16 kernel alone.
    const Path* chosen = &select_path();
    if (chosen == &avx2_u8s8_path() &&
        (a_signed || M <= 4 || K <= 0 || M <= 0 || !fits_7_bits(A, lda, M, K)))
        chosen = &avx2_path();
    const Path& P = *chosen;
    std::vector<int32_t> shift;
    if (a_signed && P.shifts_signed_a) {  // VNNI saw a + 128: remove 128 * colsum(W)
        shift.assign(N, 0);
        for (int64_t j = 0; j < N; ++j) {
            int32_t s = 0;
            for (int64_t k = 0; k < K; ++k) s += W[j * ldw + k];
            shift[j] = 128 * s;
        }
    }
    const bool vec_ep = &P != &scalar_path() && cpu_has_avx2();
    const Problem p{&P, a_signed, M, N, K, A, lda, W, ldw, C, ldc, ep,
                    shift.empty() ? nullptr : shift.data(), vec_ep};
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {  // an empty sum: every accumulator is zero
        std::vector<int32_t> zeros(std::min<int64_t>(N, 64) * 1, 0);
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; j += 64) {
                const int64_t n = std::min<int64_t>(64, N - j);
                finish_tile(p, zeros.data(), 0, i, j, 1, n);
            }
        return;
    }
    if (M <= 4 && &P == &avx2_path()) {  // one token / one sample: W read in place
        std::vector<int16_t> a16(static_cast<size_t>(M * round_up(K, 16)));
        small_m_avx2(M, K, A, lda, a_signed, W, ldw, 0, 0, a16.data(), true, {nullptr, nullptr});
        const TileSink sink{[](const void* ctx, int32_t* tile, int64_t ld, int64_t j, int64_t m,
                               int64_t n) {
                                finish_tile(*static_cast<const Problem*>(ctx), tile, ld, 0, j, m, n);
                            }, &p};
        const int threads = M * N * K > MIN_THREADED_WORK ? std::max(1, max_threads) : 1;
        ParallelErrors errors;
#pragma omp parallel num_threads(threads)
        {
#ifdef _OPENMP
            const auto [n0, n1] = split(N, omp_get_num_threads(), omp_get_thread_num(), 16);
#else
            const int64_t n0 = 0, n1 = N;
#endif
            errors.run([&] {
                small_m_avx2(M, K, A, lda, a_signed, W, ldw, n0, n1, a16.data(), false, sink);
            });
        }
        errors.rethrow();
        return;
    }
#ifdef _OPENMP
    const int threads = M * N * K > MIN_THREADED_WORK ? std::max(1, max_threads) : 1;
    if (threads > 1) {
        const auto [gr, gc] = choose_grid(P, M, N, K, threads);
        ParallelErrors errors;
#pragma omp parallel num_threads(threads)
        {
            const int t = omp_get_thread_num();
            const auto [m0, m1] = split(M, gr, t / gc, P.MR);
            const auto [n0, n1] = split(N, gc, t % gc, P.NR);
            errors.run([&] { qgemm_block(p, m0, m1, n0, n1); });
        }
        errors.rethrow();
        return;
    }
#else
    (void)max_threads;
#endif
    qgemm_block(p, 0, M, 0, N);
}

}  // namespace qgemm

bool set_qgemm_path(const std::string& name) {
    using namespace qgemm;
    if (name.empty() || name == "auto") {
        forced_path = nullptr;
        return true;
    }
    const Path* p = nullptr;
    if (name == "scalar") p = &scalar_path();
    else if (name == "avx2" && cpu_has_avx2()) p = &avx2_path();
    else if (name == "avx2_u8s8" && cpu_has_avx2()) p = &avx2_u8s8_path();
    else if (name == "avx512_vnni") p = avx512_vnni_path();
    else if (name == "avx_vnni") p = avx_vnni_path();
    if (!p) return false;
    forced_path = p;
    return true;
}

std::string qgemm_path() { return qgemm::select_path().name; }

void qgemm_s32(bool a_signed, int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda,
               const int8_t* W, int64_t ldw, int32_t* C, int64_t ldc) {
    qgemm::run(a_signed, M, N, K, A, lda, W, ldw, C, ldc, nullptr, get_num_threads());
}

}  // namespace tinytorch

namespace tinytorch {

void qlinear(bool a_signed, int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda,
             const int8_t* W, int64_t ldw, const float* a_scale, const int32_t* a_zp,
             const float* w_scale, const int32_t* w_colsum, const float* bias, bool relu,
             int out_kind, float out_scale, int32_t out_zp, void* out) {
    const qgemm::Epilogue ep{a_scale, a_zp, w_scale, w_colsum, bias, relu,
                             out_kind, out_scale, out_zp, out, N};
    qgemm::run(a_signed, M, N, K, A, lda, W, ldw, nullptr, 0, &ep, get_num_threads());
}

}  // namespace tinytorch
