// Scaled dot-product attention, FlashAttention-style (Module 13, made fast in 15).
//
//   out[i] = sum_j softmax_j(s[i, j]) v[j],   s[i, j] = scale * q[i] . k[j] + mask[i, j]
//
// The NumPy version builds the whole Tq x Tk score matrix per head: O(T^2)
// memory, written once and read three times. Here a block of BQ queries
// walks over the keys BK at a time and never holds more than one BK x BQ
// tile of scores, in L1:
//
//   for each (b, h, query block i0):                     <- one task per thread
//     Q^T block, pre-multiplied by scale                 (d x BQ, packed once)
//     for each key block j0 (causal: only up to the diagonal):
//       S^T = K[j0:j0+BK] @ Q^T   (+ mask^T, causal -inf) (BK x BQ score tile)
//       online softmax, per query: m_new = max(m, max_j S), alpha = e^(m - m_new),
//         P^T = e^(S^T - m_new),  l = alpha l + sum_j P
//       O^T = alpha * O^T + V^T @ P^T                    (dv x BQ, rescale fused)
//     out = O / l,  lse = m + log l
//
// Why transposed (keys as rows, queries along the vector lanes): the softmax
// statistics m, l, alpha are then vectors over queries, so the online softmax
// is plain elementwise vector code with no horizontal max or sum, and K and V
// are read in place (broadcast loads) with no packing; only the small Q block
// is transposed, once. Rows that see no key keep m = -inf and l = 0 and give
// out = 0, lse = -inf, with no NaN on the way (see `safe_max`).
//
// decode_attention (Module 16) is the one-query case against a KV cache.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "attention_tiles.h"
#include "kernels.h"

namespace tinytorch {
namespace {

using namespace simd;
using namespace attention_tiles;

// ---- tile sizes --------------------------------------------------------------
// BQ: queries per block = one register-tile width NR (32 with AVX-512, 16 with
// AVX2), so the m, l, alpha vectors are 2 registers and every tile product is
// a single column panel. Smaller query blocks mean finer causal tiles (less
// of the triangle computed and thrown away) and more tasks for the threads;
// K and V are re-read from L2 once per block, which BQ MACs per loaded float
// (>= 16) easily hides. BQ = 2 NR measured 4% slower at T = 128 (AVX-512).
constexpr int64_t BQ = NR;
// BK: keys per tile. The score tile S^T (BK x BQ floats: 8 KiB with AVX-512)
// and the V rows it multiplies (BK x dv: 16 KiB at dv = 64) stay in L1d
// (48 KiB on Sapphire Rapids, 32 KiB on Zen 3) while the output tile's
// rescale and store (once per tile) is spread over BK FMAs per element.
constexpr int64_t BK = 64;
// Below this many multiply-adds (~20 us on one core) a call runs on one
// thread: an OpenMP fork/join costs microseconds.
constexpr int64_t MIN_THREADED_WORK = int64_t(1) << 20;

// max(m, -FLT_MAX): a query that has seen no key yet has m = -inf, and
// e^(s - m) would be e^(-inf + inf) = NaN. Subtracting -FLT_MAX instead gives
// e^(-inf) = 0 for masked scores and alpha = e^(-inf) = 0, exactly.
inline vec safe_max(vec m) { return vmax(m, vset1(-FLT_MAX)); }

struct Scratch {
    AlignedBuffer qt, s, acc;
};

// Out rows [i0, i0 + BQ) of one (batch, head); q, k, v, mask point at that
// head's (Tq, d), (Tk, d), (Tk, dv), (Tq, Tk) planes.
void forward_block(const AttentionShape& sh, const float* q, const float* k, const float* v,
                   const float* mask, int64_t i0, float* out, float* lse, Scratch& scratch) {
    const int64_t d = sh.d, dv = sh.dv, Tk = sh.Tk;
    const int64_t nq = std::min(BQ, sh.Tq - i0);
    float* qt = scratch.qt.get(d * BQ);
    float* st = scratch.s.get(BK * BQ);
    float* acc = scratch.acc.get(dv * BQ);
    // Q^T * scale; the padding columns (queries past Tq) are zero, their
    // results are computed alongside and never stored.
    for (int64_t i = 0; i < BQ; ++i)
        for (int64_t c = 0; c < d; ++c) qt[c * BQ + i] = i < nq ? q[(i0 + i) * d + c] * sh.scale : 0;

    alignas(64) float m[BQ], l[BQ], alpha[BQ];
    std::fill(m, m + BQ, -INFINITY);
    std::fill(l, l + BQ, 0.0f);
    // causal: query i sees keys j <= i, so this block needs no key past its last query
    const int64_t kend = sh.causal ? std::min(Tk, i0 + nq) : Tk;
    for (int64_t j0 = 0; j0 < kend; j0 += BK) {
        const int64_t nk = std::min(BK, kend - j0);
        if (mask) {  // S^T starts as the mask tile, transposed; the product adds onto it
            for (int64_t i = 0; i < BQ; ++i)
                for (int64_t j = 0; j < nk; ++j)
                    st[j * BQ + i] = i < nq ? mask[(i0 + i) * Tk + j0 + j] : 0.0f;
        }
        tile_gemm(nk, BQ, d, k + j0 * d, d, 1, qt, BQ, st, BQ, nullptr, mask != nullptr);
        if (sh.causal) {  // key j hides from queries i < j: the first j - i0 lanes of row j
            for (int64_t j = std::max(j0, i0 + 1); j < j0 + nk; ++j)
                for (int64_t c = 0; c < BQ; c += VL) {
                    float* p = st + (j - j0) * BQ + c;
                    vstoreu(p, vselect(vmask(j - i0 - c), vset1(-INFINITY), vloadu(p)));
                }
        }
        // online softmax, VL queries at a time
        for (int64_t c = 0; c < BQ; c += VL) {
            const vec m_old = vloadu(m + c);
            vec m_new = m_old;
            for (int64_t j = 0; j < nk; ++j) m_new = vmax(m_new, vloadu(st + j * BQ + c));
            const vec shift = safe_max(m_new);
            const vec a = vexp(vsub(m_old, shift));
            vec sum = vzero();
            for (int64_t j = 0; j < nk; ++j) {
                float* p = st + j * BQ + c;
                const vec e = vexp(vsub(vloadu(p), shift));
                vstoreu(p, e);
                sum = vadd(sum, e);
            }
            vstoreu(l + c, vfma(a, vloadu(l + c), sum));
            vstoreu(m + c, m_new);
            vstoreu(alpha + c, a);
        }
        // O^T = alpha * O^T + V^T P^T; the first tile overwrites (acc starts undefined)
        tile_gemm(dv, BQ, nk, v + j0 * dv, 1, dv, st, BQ, acc, BQ, j0 ? alpha : nullptr, false);
    }
    for (int64_t i = 0; i < nq; ++i) {
        const bool seen = l[i] > 0.0f && kend > 0;
        const float inv = seen ? 1.0f / l[i] : 0.0f;
        float* o = out + (i0 + i) * dv;
        for (int64_t c = 0; c < dv; ++c) o[c] = kend > 0 ? acc[c * BQ + i] * inv : 0.0f;
        lse[i0 + i] = seen ? m[i] + std::log(l[i]) : -INFINITY;
    }
}

const float* mask_plane(const AttentionShape& sh, const float* mask, int64_t b, int64_t h) {
    if (!mask) return nullptr;
    const int64_t mb = sh.mask_B == 1 ? 0 : b, mh = sh.mask_H == 1 ? 0 : h;
    return mask + (mb * sh.mask_H + mh) * sh.Tq * sh.Tk;
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, const float* mask,
                       const AttentionShape& sh, float* out, float* lse) {
    const int64_t blocks = ceil_div(sh.Tq, BQ), tasks = sh.B * sh.H * blocks;
    const bool threaded = static_cast<double>(sh.B * sh.H) * sh.Tq * sh.Tk * (sh.d + sh.dv) >
                          static_cast<double>(MIN_THREADED_WORK);
    // dynamic: causal blocks near the end of the sequence have more keys to visit
#pragma omp parallel for schedule(dynamic) if (threaded)
    for (int64_t t = 0; t < tasks; ++t) {
        thread_local Scratch scratch;
        const int64_t bh = t / blocks, i0 = (blocks - 1 - t % blocks) * BQ;  // longest first
        forward_block(sh, q + bh * sh.Tq * sh.d, k + bh * sh.Tk * sh.d, v + bh * sh.Tk * sh.dv,
                      mask_plane(sh, mask, bh / sh.H, bh % sh.H), i0,
                      out + bh * sh.Tq * sh.dv, lse + bh * sh.Tq, scratch);
    }
}

// ---- decode: one query per (batch, head) against the first `length` cached keys ----
//
// Memory-bound: every cached key and value is read once (8 heads x 1024
// positions x 64 floats x 2 = 4 MiB per token) for 2 FLOPs per float, so the
// kernel's job is to stream at full bandwidth on all cores. When B*H heads
// are too few to keep the threads busy, each head's keys are split into
// chunks (flash-decoding): every chunk computes its own max m, sum l and
// unnormalised output, and the chunks are merged with the same rescaling as
// the online softmax.
namespace {

// Keys per chunk at least: a chunk's scores (DECODE_CHUNK floats = 1 KiB) stay
// in L1 between the score pass and the value pass, and the per-chunk merge
// (one exp and dv FMAs) is amortised over >= 256 keys.
constexpr int64_t DECODE_CHUNK = 256;

struct Partial {
    float m, l;
};

// Scores, softmax and weighted values of keys [j0, j1) of one head.
// acc (dv floats) receives sum_j e^(s_j - m) v[j]; returns m and l.
Partial decode_chunk(const float* q, const float* kc, const float* vc, int64_t j0, int64_t j1,
                     int64_t d, int64_t dv, float scale, float* acc, AlignedBuffer& buffer) {
    const int64_t n = j1 - j0;
    float* s = buffer.get(round_up(n, VL));
    std::fill(s + n, s + round_up(n, VL), -INFINITY);  // the vector passes read whole vectors
    const int64_t full = d / VL * VL;
    const lane_mask tail = vmask(d - full);
    int64_t j = j0;
    // four keys at a time: four independent FMA chains, q loaded once for four keys
    for (; j + 4 <= j1; j += 4) {
        vec a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
        const float* k0 = kc + j * d;
        for (int64_t c = 0; c < full; c += VL) {
            const vec qc = vloadu(q + c);
            a0 = vfma(qc, vloadu(k0 + c), a0);
            a1 = vfma(qc, vloadu(k0 + d + c), a1);
            a2 = vfma(qc, vloadu(k0 + 2 * d + c), a2);
            a3 = vfma(qc, vloadu(k0 + 3 * d + c), a3);
        }
        if (full < d) {
            const vec qc = vload_masked(q + full, tail);
            a0 = vfma(qc, vload_masked(k0 + full, tail), a0);
            a1 = vfma(qc, vload_masked(k0 + d + full, tail), a1);
            a2 = vfma(qc, vload_masked(k0 + 2 * d + full, tail), a2);
            a3 = vfma(qc, vload_masked(k0 + 3 * d + full, tail), a3);
        }
        s[j - j0] = vreduce_add(a0) * scale;
        s[j - j0 + 1] = vreduce_add(a1) * scale;
        s[j - j0 + 2] = vreduce_add(a2) * scale;
        s[j - j0 + 3] = vreduce_add(a3) * scale;
    }
    for (; j < j1; ++j) {
        vec a0 = vzero();
        for (int64_t c = 0; c < full; c += VL) a0 = vfma(vloadu(q + c), vloadu(kc + j * d + c), a0);
        if (full < d)
            a0 = vfma(vload_masked(q + full, tail), vload_masked(kc + j * d + full, tail), a0);
        s[j - j0] = vreduce_add(a0) * scale;
    }
    // stable softmax numerator over the chunk; the padding lanes past n count as -inf
    vec mv = vset1(-INFINITY);
    for (int64_t i = 0; i < n; i += VL)
        mv = vmax(mv, vselect(vmask(n - i), vloadu(s + i), vset1(-INFINITY)));
    const float m = vreduce_max(mv);
    const vec shift = safe_max(vset1(m));
    vec lv = vzero();
    for (int64_t i = 0; i < n; i += VL) {
        const vec e = vselect(vmask(n - i), vexp(vsub(vloadu(s + i), shift)), vzero());
        vstoreu(s + i, e);
        lv = vadd(lv, e);
    }
    // acc = sum_j p_j v[j]: dv along the vector lanes, two keys per step
    const int64_t vfull = dv / VL * VL;
    const lane_mask vtail = vmask(dv - vfull);
    for (int64_t c = 0; c < dv; c += VL) {
        const bool whole = c < vfull;
        vec o0 = vzero(), o1 = vzero();
        const float* vp = vc + j0 * dv + c;
        int64_t i = 0;
        for (; i + 2 <= n; i += 2, vp += 2 * dv) {
            const vec x0 = whole ? vloadu(vp) : vload_masked(vp, vtail);
            const vec x1 = whole ? vloadu(vp + dv) : vload_masked(vp + dv, vtail);
            o0 = vfma(vset1(s[i]), x0, o0);
            o1 = vfma(vset1(s[i + 1]), x1, o1);
        }
        if (i < n) o0 = vfma(vset1(s[i]), whole ? vloadu(vp) : vload_masked(vp, vtail), o0);
        const vec o = vadd(o0, o1);
        if (whole) vstoreu(acc + c, o);
        else vstore_masked(acc + c, o, vtail);
    }
    return {m, vreduce_add(lv)};
}

}  // namespace

void decode_attention(const float* q, const float* k_cache, const float* v_cache, int64_t B,
                      int64_t H, int64_t max_len, int64_t length, int64_t d, int64_t dv,
                      float scale, float* out) {
    const int64_t heads = B * H;
    // One decode call is small: 8 heads x 1,024 cached positions x d = 64 is
    // 1M multiply-adds, about 12 us on one core. Waking a second thread costs
    // a few us when it idles and milliseconds when another process holds that
    // core, so only calls worth ~50 us of work go parallel (batched decoding,
    // long caches); below that one thread does every head in one chunk.
    const bool threaded = static_cast<double>(heads) * length * (d + dv) >
                          static_cast<double>(4 * MIN_THREADED_WORK);
    const int threads = threaded ? get_num_threads() : 1;
    // enough chunks for two tasks per thread, none shorter than DECODE_CHUNK
    const int64_t chunks = threaded ? std::clamp<int64_t>(ceil_div(2 * threads, heads), 1,
                                                          ceil_div(length, DECODE_CHUNK))
                                    : 1;
    const int64_t step = ceil_div(length, chunks);
    std::vector<Partial> partial(heads * chunks);
    std::vector<float> acc(heads * chunks * dv);
#pragma omp parallel for schedule(static) if (threaded)
    for (int64_t t = 0; t < heads * chunks; ++t) {
        thread_local AlignedBuffer buffer;
        const int64_t bh = t / chunks, j0 = (t % chunks) * step;
        const int64_t j1 = std::min(length, j0 + step);
        partial[t] = decode_chunk(q + bh * d, k_cache + bh * max_len * d,
                                  v_cache + bh * max_len * dv, j0, j1, d, dv, scale,
                                  acc.data() + t * dv, buffer);
    }
    // merge the chunks of each head: out = sum_c e^(m_c - M) acc_c / sum_c e^(m_c - M) l_c
    for (int64_t bh = 0; bh < heads; ++bh) {
        float M = -INFINITY;
        for (int64_t c = 0; c < chunks; ++c) M = std::max(M, partial[bh * chunks + c].m);
        float L = 0.0f;
        float* o = out + bh * dv;
        std::fill(o, o + dv, 0.0f);
        for (int64_t c = 0; c < chunks; ++c) {
            const Partial& p = partial[bh * chunks + c];
            const float w = std::exp(p.m - std::max(M, -FLT_MAX));
            L += w * p.l;
            const float* a = acc.data() + (bh * chunks + c) * dv;
            for (int64_t i = 0; i < dv; ++i) o[i] += w * a[i];
        }
        const float inv = L > 0.0f ? 1.0f / L : 0.0f;
        for (int64_t i = 0; i < dv; ++i) o[i] *= inv;
    }
}

}  // namespace tinytorch
