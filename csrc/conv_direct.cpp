// The direct convolution (Module 15): conv2d for a horizontal stride of 1
// without im2col. See conv.cpp for the im2col + GEMM path it replaces there.
#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "conv_common.h"
#include "gemm_pack.h"
#include "kernels.h"
#include "simd.h"

namespace tinytorch {
using namespace conv_detail;

// ---- direct convolution (stride_w == 1) -----------------------------------
//
// im2col copies every input pixel KH*KW times, and the GEMM then copies the
// cols matrix once more into its packed B panel: on the 32x32 layer those two
// copies took ~35% of the forward (perf, one thread). With a unit horizontal
// stride neither copy is needed. Output pixels ow..ow+NR-1 of one output row,
// for tap (c, kh, kw), read the input pixels iw = ow - pw + kw*dw, ..., which
// are NR consecutive floats of one input row. So the micro-kernel can load its
// B vectors straight from a zero-padded copy of the input:
//
//   y[f0:f0+MR, oh, ow:ow+NR] += sum_{c,kh,kw} W[f0:f0+MR, c, kh, kw]
//                                 * xpad[c, oh*sh + kh*dh, ow + kw*dw : ... + NR]
//
// This is the sgemm micro-kernel (broadcast MR weights, load NV vectors, MR*NV
// FMAs per k) with the packed B sliver replaced by an offset table: B row k =
// (c, kh, kw) starts at c*plane + kh*dh*Wp + kw*dw of the padded slab. The
// weights are packed once per call exactly as the sgemm packs A. The only copy
// left is the padding itself, one pass over the input instead of KH*KW.
// Blocking: channels in blocks whose filter-tile weights and slab rows fit a
// quarter of L2 (usually all channels in one block), all output channels of a
// block's packed weights in L2, and the padded slab of a work item (a range of
// output rows of one image) within half of L2.
namespace {

using simd::MR;
using simd::VL;
using simd::vec;
using gemm::NR;
using gemm::NV;

// The register tile: acc[r][v] = y[f0 + r, oh, ow + at(v) : ... + VL], with
// vectors side by side, at(v) = v*VL, except the last: at(VECS-1) = last. A
// full strip has last = (VECS-1)*VL. A last strip narrower than NR but wider
// than one vector has last = cols - VL: its last vector overlaps the one before
// and ends exactly at OW, so it loads and stores whole vectors too (the overlapping
// lanes hold the same sums; each row is read before it is written, so with
// `accumulate` no lane is added twice). Masked stores are microcoded on AMD
// Zen (about 10x slower than a store), so only rows narrower than one vector
// (cols < VL, VECS = 1) use a mask.
template <int ROWS, int VECS>
void direct_tile(int64_t cb, int64_t taps, const int64_t* __restrict tap_off, int64_t plane,
                 const float* __restrict a, const float* __restrict x, float* c, int64_t ldc,
                 int64_t cols, int64_t last, bool accumulate) {
    auto at = [last](int v) { return v == VECS - 1 ? last : v * VL; };
    // C is touched only after the k loop: ask for its lines now.
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
        __builtin_prefetch(c + r * ldc, 1);
        __builtin_prefetch(c + r * ldc + last + VL - 1, 1);
    }
    vec acc[ROWS][VECS];
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < VECS; ++v) acc[r][v] = simd::vzero();
    for (int64_t ci = 0; ci < cb; ++ci, x += plane) {
#pragma GCC unroll 3
        for (int64_t t = 0; t < taps; ++t, a += MR) {
            const float* b = x + tap_off[t];
            vec bv[VECS];
#pragma GCC unroll 4
            for (int v = 0; v < VECS; ++v) bv[v] = simd::vloadu(b + at(v));
#pragma GCC unroll 16
            for (int r = 0; r < ROWS; ++r) {
                const vec ar = simd::vbroadcast(a + r);
#pragma GCC unroll 4
                for (int v = 0; v < VECS; ++v) acc[r][v] = simd::vfma(ar, bv[v], acc[r][v]);
            }
        }
    }
    if (cols < VL) {  // VECS == 1
        const simd::lane_mask mask = simd::vmask(cols);
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; ++r) {
            float* p = c + r * ldc;
            vec out = acc[r][0];
            if (accumulate) out = simd::vadd(out, simd::vload_masked(p, mask));
            simd::vstore_masked(p, out, mask);
        }
        return;
    }
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
        float* p = c + r * ldc;
        vec out[VECS];
#pragma GCC unroll 4
        for (int v = 0; v < VECS; ++v)
            out[v] = accumulate ? simd::vadd(acc[r][v], simd::vloadu(p + at(v))) : acc[r][v];
#pragma GCC unroll 4
        for (int v = 0; v < VECS; ++v) simd::vstoreu(p + at(v), out[v]);
    }
}

using direct_fn = void (*)(int64_t, int64_t, const int64_t*, int64_t, const float*, const float*,
                           float*, int64_t, int64_t, int64_t, bool);
using direct_table = std::array<direct_fn, MR>;  // indexed by rows - 1

template <int VECS, int... R>
constexpr direct_table make_direct_table(std::integer_sequence<int, R...>) {
    return {&direct_tile<R + 1, VECS>...};
}
template <int... V>
constexpr std::array<direct_table, NV> make_direct_tables(std::integer_sequence<int, V...>) {
    return {make_direct_table<V + 1>(std::make_integer_sequence<int, MR>{})...};
}
// direct_kernels[vecs - 1][rows - 1]
constexpr std::array<direct_table, NV> direct_kernels =
    make_direct_tables(std::make_integer_sequence<int, NV>{});

}  // namespace

bool conv2d_direct_applies(const Conv2dShape& s) { return s.stride_w == 1; }

void conv2d_direct(const float* x, const float* weight, float* y, const Conv2dShape& s) {
    const int64_t KK = s.KH * s.KW, K = s.C * KK, P = s.OH * s.OW;
    if (K == 0) {  // a sum over no taps: the loops below would never write y
        zero_floats(y, s.N * s.F * P);
        return;
    }
    const int64_t Wp = s.W + 2 * s.pad_w;  // = OW + (KW - 1)*dw: every tap of every output
    const GemmBlocking& blocking = gemm_blocking();
    // Channels per block: as many as keep the weights of one filter tile (MR x
    // cb*KK floats) and the slab rows one output row reads (cb x KH rows of Wp)
    // within a quarter of L2. Every block boundary costs a load and store of
    // each C tile, and a deep block streams from L2 fast enough: on the 32x32
    // layer (64 channels, AVX-512 Zen 4) all 64 channels in one block beat
    // blocks as deep as the sgemm's KC (22 channels) by 2-3% on one thread and
    // 2.5% on two (one process, interleaved, two runs of 11 rounds).
    const int64_t per_channel = (MR * KK + s.KH * Wp) * 4;
    const int64_t cb =
        gemm::balanced_step(s.C, std::max<int64_t>(blocking.l2 / 4 / per_channel, 1), 1);
    // Output rows per work item: its padded slab (all C channels) within half
    // of L2, and enough items for every thread.
    auto rows_in = [&](int64_t rows_out) { return (rows_out - 1) * s.stride_h + (s.KH - 1) * s.dil_h + 1; };
    int64_t rows = s.OH;
    while (rows > 1 && s.C * rows_in(rows) * Wp * 4 > blocking.l2 / 2) rows = ceil_div(rows, 2);
    int64_t groups = ceil_div(s.OH, rows);
    const int threads_wanted = get_num_threads();
    if (s.N * groups < threads_wanted) groups = std::min(s.OH, ceil_div(threads_wanted, s.N));
    rows = ceil_div(s.OH, groups);
    groups = ceil_div(s.OH, rows);
    // Channel planes of the slab are R*Wp floats, padded to a whole number of
    // cache lines, and to an odd number of them: B reads walk down the
    // channels, and a plane of 4 KiB (a 32x32 image) would map every channel
    // to the same L1d set.
    const int64_t R = rows_in(rows);
    int64_t plane = simd::round_up(R * Wp, 16);
    if ((plane / 16) % 2 == 0) plane += 16;
    // The last strip of a row loads whole vectors past OW: at most VL - 1
    // floats past the slab's last row, which this zeroed tail covers.
    const int64_t slab = s.C * plane + VL;

    const int64_t Fr = simd::round_up(s.F, MR);
    thread_local simd::AlignedBuffer packed_buffer;
    float* packed = packed_buffer.get(Fr * K);
    for (int64_t c0 = 0; c0 < s.C; c0 += cb) {
        const int64_t k0 = c0 * KK, kc = std::min(cb, s.C - c0) * KK;
        gemm::pack_a(weight, false, K, 0, k0, s.F, kc, packed + Fr * k0);
    }
    std::vector<int64_t> tap_off(static_cast<size_t>(KK));
    for (int64_t kh = 0; kh < s.KH; ++kh)
        for (int64_t kw = 0; kw < s.KW; ++kw)
            tap_off[kh * s.KW + kw] = kh * s.dil_h * Wp + kw * s.dil_w;

    const int64_t items = s.N * groups;
    const int threads = team_size(s.N * s.F * P * K, items);
    // Items are handed out one at a time, not in two fixed halves: on a shared,
    // noisy machine a static split leaves one thread waiting at the barrier
    // whenever the other is preempted. Measured in one process (N=32, 64->64,
    // 32x32, 3x3, 2 threads, AVX2 Zen 3, 4 runs): 98-128 GF/s static, 121-151
    // dynamic; a work item is ~0.4 ms, so the hand-out costs nothing.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (int64_t item = 0; item < items; ++item) {
        const int64_t n = item / groups, oh0 = (item % groups) * rows;
        const int64_t oh1 = std::min(s.OH, oh0 + rows);
        thread_local simd::AlignedBuffer slab_buffer;
        float* xp = slab_buffer.get(slab);
        fill_slab(x + n * s.C * s.H * s.W, s, oh0 * s.stride_h - s.pad_h, R, plane, xp);
        float* yn = y + n * s.F * P;
        for (int64_t oh = oh0; oh < oh1; ++oh) {
            for (int64_t c0 = 0; c0 < s.C; c0 += cb) {
                const int64_t cbn = std::min(cb, s.C - c0), k0 = c0 * KK, kc = cbn * KK;
                const float* a_block = packed + Fr * k0;
                const float* xrow = xp + c0 * plane + (oh - oh0) * s.stride_h * Wp;
                // Filters outer, strips inner: one MR-tile of packed weights
                // (MR x kc, 7 KiB at 32 channels of 3x3) stays in L1 for the
                // whole row while the row's slab lines (cb x KH rows) are
                // re-read by every tile; 1-2% faster than strips outer, where
                // the weights of all filters stream from L2 once per strip.
                for (int64_t f = 0; f < s.F; f += MR) {
                    const int64_t m = std::min(MR, s.F - f);
                    for (int64_t ow = 0; ow < s.OW; ow += NR) {
                        const int64_t cols = std::min(NR, s.OW - ow), vecs = ceil_div(cols, VL);
                        const int64_t last = vecs > 1 ? cols - VL : 0;
                        direct_kernels[vecs - 1][m - 1](cbn, KK, tap_off.data(), plane,
                                                        a_block + f * kc, xrow + ow,
                                                        yn + f * P + oh * s.OW + ow, P, cols,
                                                        last, c0 > 0);
                    }
                }
            }
        }
    }
}

}  // namespace tinytorch
