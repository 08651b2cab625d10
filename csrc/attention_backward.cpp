// The backward of tiled attention, the FlashAttention-2 way (Module 13, made fast in 15).
//
// The forward kept only out and lse (one number per query), so the backward
// recomputes each score tile from q, k and lse: P = exp(S - lse) needs no
// running max and no second pass. Per head, with D[i] = dO[i] . O[i]:
//
//   for each key block j0 (BK keys):                    dK, dV tiles in L1
//     for each query block i0 (BQ queries; causal: from the diagonal on):
//       S^T  = K_j Q_i^T * scale (+ mask^T, causal -inf)   (BK x BQ, recomputed)
//       P^T  = exp(S^T - lse_i)
//       dP^T = V_j dO_i^T
//       dS^T = P^T * (dP^T - D_i) * scale
//       dV_j += P^T dO_i,   dK_j += dS^T Q_i,   dQ_i += dS K_j
//
// so dK and dV of a key block are finished in one sweep and written once;
// dQ collects from every key block. Queries again run along the vector
// lanes (see attention.cpp), so lse_i and D_i are vectors and the tiles are
// elementwise vector code.
//
// Threads without races: a task owns whole key blocks (their dK, dV rows are
// written by nobody else). With at least two heads per thread a task is one
// head and owns its dQ too. With fewer heads, each head's key blocks are dealt
// round-robin to several tasks (round-robin balances the causal triangle:
// early keys are seen by more queries) and every task accumulates dQ into a
// private copy, summed once at the end -- no atomics.
#include <algorithm>
#include <cmath>
#include <vector>

#include "attention_tiles.h"
#include "kernels.h"

namespace tinytorch {
namespace {

using namespace simd;
using namespace attention_tiles;

// ---- tile sizes --------------------------------------------------------------
// BQ: queries per tile = one register-tile width NR, as in the forward: every
// BK x BQ tile product is one column panel.
constexpr int64_t BQ = NR;
// BK: keys per block. The block's dK and dV accumulators (BK x d and BK x dv
// floats: 2 x 16 KiB at d = dv = 64) and the two BK x BQ tiles S^T, dS^T
// (8 KiB each with AVX-512) are what every query block updates; 64 keeps them
// in L1d (48 KiB) / L2 while the products over the query axis (depth BQ) load
// and store each accumulator tile once per query block.
constexpr int64_t BK = 64;
constexpr int64_t MIN_THREADED_WORK = int64_t(1) << 20;  // multiply-adds, as the forward

struct Scratch {
    AlignedBuffer qt, dot, qrows, dorows, krows, vecs, st, dst, dk, dv;
};

// rows x cols floats with rows padded to cols_pad (zeros): src itself when
// cols == cols_pad, else a copy in buf.
const float* padded_rows(const float* src, int64_t rows, int64_t cols, int64_t cols_pad,
                         AlignedBuffer& buf) {
    if (cols == cols_pad) return src;
    float* dst = buf.get(rows * cols_pad);
    for (int64_t r = 0; r < rows; ++r) {
        std::copy(src + r * cols, src + (r + 1) * cols, dst + r * cols_pad);
        std::fill(dst + r * cols_pad + cols, dst + (r + 1) * cols_pad, 0.0f);
    }
    return dst;
}

// dst[c * ld + i] = src[i * cols + c] * factor for i < rows, 0 for rows <= i < ld
void transpose_scaled(const float* src, int64_t rows, int64_t cols, float factor, int64_t ld,
                      float* dst) {
    for (int64_t i = 0; i < ld; ++i)
        for (int64_t c = 0; c < cols; ++c) dst[c * ld + i] = i < rows ? src[i * cols + c] * factor : 0;
}

struct HeadArgs {
    const float *grad_out, *q, *k, *v, *out, *lse, *mask;
    float *grad_k, *grad_v;
};

// Key blocks first, first + stride, ... of one head. dq (Tq x dp) receives
// this task's dQ contribution (accumulated, must start at zero).
void backward_keys(const AttentionShape& sh, const HeadArgs& a, int64_t first, int64_t stride,
                   float* dq, int64_t dp, Scratch& scratch) {
    const int64_t Tq = sh.Tq, Tk = sh.Tk, d = sh.d, dv = sh.dv;
    const int64_t Tqp = round_up(Tq, BQ), dvp = round_up(dv, VL);
    // per-head operands, laid out for the tile products (O(T d), not O(T^2))
    float* qt = scratch.qt.get(d * Tqp);     // Q^T * scale: B of S^T = K Q^T
    float* dot = scratch.dot.get(dv * Tqp);  // dO^T: B of dP^T = V dO^T
    transpose_scaled(a.q, Tq, d, sh.scale, Tqp, qt);
    transpose_scaled(a.grad_out, Tq, dv, 1.0f, Tqp, dot);
    const float* qrows = padded_rows(a.q, Tq, d, dp, scratch.qrows);
    const float* dorows = padded_rows(a.grad_out, Tq, dv, dvp, scratch.dorows);
    const float* krows = padded_rows(a.k, Tk, d, dp, scratch.krows);
    float* lse = scratch.vecs.get(2 * Tqp);
    float* delta = lse + Tqp;
    for (int64_t i = 0; i < Tqp; ++i) {
        // a row that saw no key (lse = -inf) gets P = exp(S - inf) = 0: no gradient, no NaN
        lse[i] = i < Tq && a.lse[i] != -INFINITY ? a.lse[i] : INFINITY;
        double dsum = 0.0;
        for (int64_t c = 0; i < Tq && c < dv; ++c)
            dsum += static_cast<double>(a.grad_out[i * dv + c]) * a.out[i * dv + c];
        delta[i] = static_cast<float>(dsum);
    }
    float* st = scratch.st.get(BK * BQ);
    float* dst = scratch.dst.get(BK * BQ);
    float* dk = scratch.dk.get(BK * dp);
    float* dvacc = scratch.dv.get(BK * dvp);
    const int64_t blocks = ceil_div(Tk, BK);
    for (int64_t kb = first; kb < blocks; kb += stride) {
        const int64_t j0 = kb * BK, nk = std::min(BK, Tk - j0);
        std::fill(dk, dk + BK * dp, 0.0f);
        std::fill(dvacc, dvacc + BK * dvp, 0.0f);
        // causal: queries before j0 see none of these keys
        const int64_t i_first = sh.causal ? j0 / BQ * BQ : 0;
        for (int64_t i0 = i_first; i0 < Tq; i0 += BQ) {
            const int64_t nq = std::min(BQ, Tq - i0);
            if (a.mask) {
                for (int64_t i = 0; i < BQ; ++i)
                    for (int64_t j = 0; j < nk; ++j)
                        st[j * BQ + i] = i < nq ? a.mask[(i0 + i) * Tk + j0 + j] : 0.0f;
            }
            tile_gemm(nk, BQ, d, a.k + j0 * d, d, 1, qt + i0, Tqp, st, BQ, nullptr,
                      a.mask != nullptr);
            if (sh.causal) {
                for (int64_t j = std::max(j0, i0 + 1); j < j0 + nk; ++j)
                    for (int64_t c = 0; c < BQ; c += VL) {
                        float* p = st + (j - j0) * BQ + c;
                        vstoreu(p, vselect(vmask(j - i0 - c), vset1(-INFINITY), vloadu(p)));
                    }
            }
            tile_gemm(nk, BQ, dv, a.v + j0 * dv, dv, 1, dot + i0, Tqp, dst, BQ);
            const vec scale = vset1(sh.scale);
            for (int64_t c = 0; c < BQ; c += VL) {
                const vec l = vloadu(lse + i0 + c), D = vloadu(delta + i0 + c);
                for (int64_t j = 0; j < nk; ++j) {
                    float* p = st + j * BQ + c;
                    float* ds = dst + j * BQ + c;
                    const vec pv = vexp(vsub(vloadu(p), l));
                    vstoreu(p, pv);
                    vstoreu(ds, vmul(vmul(pv, vsub(vloadu(ds), D)), scale));
                }
            }
            tile_gemm(nk, dvp, nq, st, BQ, 1, dorows + i0 * dvp, dvp, dvacc, dvp, nullptr, true);
            tile_gemm(nk, dp, nq, dst, BQ, 1, qrows + i0 * dp, dp, dk, dp, nullptr, true);
            tile_gemm(nq, dp, nk, dst, 1, BQ, krows + j0 * dp, dp, dq + i0 * dp, dp, nullptr,
                      true);
        }
        for (int64_t j = 0; j < nk; ++j) {
            std::copy(dk + j * dp, dk + j * dp + d, a.grad_k + (j0 + j) * d);
            std::copy(dvacc + j * dvp, dvacc + j * dvp + dv, a.grad_v + (j0 + j) * dv);
        }
    }
}

}  // namespace

void attention_backward(const float* grad_out, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* mask,
                        const AttentionShape& sh, float* grad_q, float* grad_k, float* grad_v) {
    const int64_t heads = sh.B * sh.H, d = sh.d, dp = round_up(d, VL);
    const int64_t blocks = ceil_div(sh.Tk, BK);
    const bool threaded = static_cast<double>(heads) * sh.Tq * sh.Tk * (sh.d + sh.dv) >
                          static_cast<double>(MIN_THREADED_WORK);
    const int threads = threaded ? get_num_threads() : 1;
    // key-block chunks per head: one when there are heads enough for every thread
    const int64_t chunks = heads >= 2 * threads
                               ? 1
                               : std::clamp<int64_t>(ceil_div(2 * threads, heads), 1, blocks);
    // private dQ copies, only when a head is split (else dQ is accumulated per task)
    std::vector<float> partial(chunks > 1 ? heads * chunks * sh.Tq * dp : 0);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
    for (int64_t t = 0; t < heads * chunks; ++t) {
        thread_local Scratch scratch;
        thread_local AlignedBuffer dq_buffer;
        const int64_t bh = t / chunks, chunk = t % chunks, b = bh / sh.H, h = bh % sh.H;
        const int64_t mb = sh.mask_B == 1 ? 0 : b, mh = sh.mask_H == 1 ? 0 : h;
        const HeadArgs a{grad_out + bh * sh.Tq * sh.dv, q + bh * sh.Tq * d,
                         k + bh * sh.Tk * d, v + bh * sh.Tk * sh.dv,
                         out + bh * sh.Tq * sh.dv, lse + bh * sh.Tq,
                         mask ? mask + (mb * sh.mask_H + mh) * sh.Tq * sh.Tk : nullptr,
                         grad_k + bh * sh.Tk * d, grad_v + bh * sh.Tk * sh.dv};
        float* dq = chunks > 1 ? partial.data() + t * sh.Tq * dp : dq_buffer.get(sh.Tq * dp);
        std::fill(dq, dq + sh.Tq * dp, 0.0f);
        backward_keys(sh, a, chunk, chunks, dq, dp, scratch);
        if (chunks == 1) {
            for (int64_t i = 0; i < sh.Tq; ++i)
                std::copy(dq + i * dp, dq + i * dp + d, grad_q + (bh * sh.Tq + i) * d);
        }
    }
    if (chunks == 1) return;
    // sum each head's private dQ copies, in a fixed order (the same bits every run)
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t r = 0; r < heads * sh.Tq; ++r) {
        const int64_t bh = r / sh.Tq, i = r % sh.Tq;
        float* g = grad_q + r * d;
        for (int64_t c = 0; c < d; ++c) {
            float s = 0.0f;
            for (int64_t ch = 0; ch < chunks; ++ch)
                s += partial[((bh * chunks + ch) * sh.Tq + i) * dp + c];
            g[c] = s;
        }
    }
}

}  // namespace tinytorch
