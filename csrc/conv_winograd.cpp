// Winograd F(2x2, 3x3) convolution (Module 15): conv2d for 3x3 kernels with
// unit stride and dilation, in 2.25x fewer multiplies than the direct
// convolution of conv_direct.cpp.
//
// A 2x2 block of outputs reads a 4x4 block d of the (padded) input. Winograd's
// minimal filtering algorithm computes the block as
//
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A        ((.) : elementwise, 4x4)
//
//   B^T = | 1  0 -1  0 |   G = | 1    0    0  |   A^T = | 1  1  1  0 |
//         | 0  1  1  0 |       | 1/2  1/2  1/2|         | 0  1 -1 -1 |
//         | 0 -1  1  0 |       | 1/2 -1/2  1/2|
//         | 0  1  0 -1 |       | 0    0    1  |
//
// 16 multiplies per block and channel instead of 36. Summed over channels the
// elementwise product is 16 independent matrix products, one per position xi
// of the 4x4 block:
//
//   M_xi (F x tiles) = U_xi (F x C) @ V_xi (C x tiles),   U = G g G^T, V = B^T d B
//
// which run on the sgemm's micro-kernel (gemm::tile_block_packed): U is packed
// once per call as the sgemm packs A, and the input transform writes V straight
// in the packed-B sliver layout, so nothing is copied twice. A work item is one
// image's band of block rows whose V fits half of L2; the 16 products of one
// NR-wide sliver of blocks leave M in a small buffer that the output transform
// turns into pixels at once. The transforms are in winograd_transforms.h.
//
// Numerics: the transforms add and subtract inputs (and halve weights), so
// rounding differs from the direct sum but stays at its level (tested against
// float64). Non-finite or huge values would not: a NaN in one input pixel makes
// all four outputs of every block that reads it NaN, and Inf - Inf appears in
// the transforms where the direct sum has +-Inf. So any image with a value that
// is not finite or beyond 2^60 in magnitude (and any call with such a weight) is
// computed by the direct convolution instead, which propagates them as NumPy does.
#include <algorithm>
#include <cmath>
#include <vector>

#include "conv_common.h"
#include "gemm_pack.h"
#include "kernels.h"
#include "simd.h"
#include "winograd_transforms.h"

namespace tinytorch {
using namespace conv_detail;
using namespace winograd;

namespace {

using gemm::NR;
using simd::MR;
using simd::VL;

constexpr float HUGE_INPUT = 0x1p60f;  // beyond this the direct convolution takes over

// n floats rounded up to an odd number of 64-byte lines.
int64_t spread(int64_t n) {
    const int64_t lines = simd::ceil_div(n, 16);
    return 16 * (lines % 2 ? lines : lines + 1);
}

// True if every one of the n values is finite and at most HUGE_INPUT in magnitude.
bool all_usable(const float* __restrict v, int64_t n) {
    int bad = 0;
    for (int64_t i = 0; i < n; ++i) bad |= !(std::fabs(v[i]) <= HUGE_INPUT);  // NaN: bad
    return bad == 0;
}

}  // namespace

bool conv2d_winograd_applies(const Conv2dShape& s) {
    return s.KH == 3 && s.KW == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dil_h == 1 &&
           s.dil_w == 1 && s.OH >= 1 && s.OW >= 1;
}

bool conv2d_winograd_pays(const Conv2dShape& s) {
    // Measured against the direct convolution (AVX-512 Zen 4, two threads, C and F
    // in 32..64, images 6x6 to 32x32): the 16 products are C deep and F high, and
    // below C*F = 2048 (or 32 of either) the transforms cost more than the saved
    // multiplies; an image's blocks fill NR-wide slivers, and where 40% or more of
    // a sliver would be padding (6x6, 12x12 on 32-wide slivers) the direct kernel
    // wins. On the 32x32 layer (64 -> 64) it is 1.5-1.7x faster than direct.
    if (!conv2d_winograd_applies(s) || s.C < 32 || s.F < 32 || s.C * s.F < 2048) return false;
    const int64_t blocks = ceil_div(s.OH, 2) * ceil_div(s.OW, 2);
    return 10 * blocks >= 6 * simd::round_up(blocks, NR);
}

void conv2d_winograd(const float* x, const float* weight, float* y, const Conv2dShape& s) {
    const int64_t P = s.OH * s.OW;
    if (s.N == 0 || s.F == 0 || P == 0) return;
    if (s.C == 0) {  // a sum over no channels
        zero_floats(y, s.N * s.F * P);
        return;
    }
    // A weight that is not all_usable() sends the whole call to the direct convolution.
    const int64_t WF = s.C * 9;
    if (!all_usable(weight, s.F * WF)) {
        conv2d_direct(x, weight, y, s);
        return;
    }
    const GemmBlocking& blocking = gemm_blocking();
    const int64_t cb = gemm::balanced_step(s.C, std::max<int64_t>(blocking.kc, 1), 1);
    const int64_t Fr = simd::round_up(s.F, MR);
    // The 16 blocks of U, V and M (one per xi) are `spread` apart: at a power of
    // two (16 KiB for U on the 32x32 layer) the 16 streams that the transforms
    // read or write at once would all map to the same L1d sets.
    const int64_t us = spread(Fr * s.C), vs = spread(s.C * NR), ms = spread(Fr * NR);
    // U_xi (F x C) row-major, block xi at + xi*rs, then packed per channel block as
    // the sgemm packs A: u_packed block xi at + xi*us, channel block c0 at + Fr*c0.
    const int64_t rs = spread(s.F * s.C);
    thread_local simd::AlignedBuffer rows_buffer, u_buffer;
    float* u_rows = rows_buffer.get(16 * rs);
    float* u_packed = u_buffer.get(16 * us);
    for (int64_t f = 0; f < s.F; ++f)
        for (int64_t c = 0; c < s.C; ++c) {
            float u[16];
            weight_transform(weight + f * WF + c * 9, u);
            for (int xi = 0; xi < 16; ++xi) u_rows[xi * rs + f * s.C + c] = u[xi];
        }
    for (int xi = 0; xi < 16; ++xi)
        for (int64_t c0 = 0; c0 < s.C; c0 += cb)
            gemm::pack_a(u_rows + xi * rs, false, s.C, 0, c0, s.F, std::min(cb, s.C - c0),
                         u_packed + xi * us + Fr * c0);

    // Blocks: th x tw per image; a work item is a band of `band` block rows.
    const int64_t th = ceil_div(s.OH, 2), tw = ceil_div(s.OW, 2);
    const int64_t per_row = 16 * vs / NR * tw * 4;  // bytes of V per block row
    int64_t band = std::clamp<int64_t>(blocking.l2 / 2 / std::max<int64_t>(per_row, 1), 1, th);
    int64_t bands = ceil_div(th, band);
    const int threads_wanted = get_num_threads();
    if (s.N * bands < threads_wanted) bands = std::min(th, ceil_div(threads_wanted, s.N));
    band = ceil_div(th, bands);
    bands = ceil_div(th, band);
    const int64_t tiles_max = simd::round_up(band * tw, NR);  // blocks of an item, whole slivers

    const int64_t items = s.N * bands;
    // 16 multiplies per 2x2 block and channel: 4 per output pixel and channel
    const int threads = team_size(s.N * s.F * P * s.C * 4, items);
    std::vector<char> item_ok(static_cast<size_t>(items), 1);  // one writer each
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (int64_t item = 0; item < items; ++item) {
        const int64_t n = item / bands, i0 = (item % bands) * band;
        const int64_t i1 = std::min(th, i0 + band), tiles = (i1 - i0) * tw;
        const int64_t slivers = ceil_div(tiles, NR);
        // V: sliver p at v + p*16*vs, position xi at + xi*vs, channel c at + c*NR.
        thread_local simd::AlignedBuffer v_buffer, m_buffer, split_buffer;
        float* v = v_buffer.get(16 * vs * (tiles_max / NR));
        float* m = m_buffer.get(16 * ms);
        float* split = split_buffer.get((2 * band + 2) * 2 * (tw + 1));
        const float* xn = x + n * s.C * s.H * s.W;
        // The input rows the band reads, contiguous in each channel plane.
        const int64_t r0 = std::clamp<int64_t>(2 * i0 - s.pad_h, 0, s.H);
        const int64_t r1 = std::clamp<int64_t>(2 * i1 + 2 - s.pad_h, r0, s.H);
        bool ok = true;
        for (int64_t c = 0; c < s.C && ok; ++c)
            ok = all_usable(xn + (c * s.H + r0) * s.W, (r1 - r0) * s.W);
        if (!ok) {  // computed again by the direct convolution below
            item_ok[static_cast<size_t>(item)] = 0;
            continue;
        }
        // Blocks past `tiles` in the last sliver are zero, so their products are finite.
        for (int64_t t = tiles; t < slivers * NR; ++t) {
            float* vt = v + (t / NR) * 16 * vs + t % NR;
            for (int xi = 0; xi < 16; ++xi)
                for (int64_t c = 0; c < s.C; ++c) vt[xi * vs + c * NR] = 0.0f;
        }
        for (int64_t c = 0; c < s.C; ++c) {
            const float* xc = xn + c * s.H * s.W;
            // rows 2*i0 .. 2*i1 + 1 of the padded plane, split once for the band
            const int64_t split_stride = 2 * (tw + 1);
            for (int64_t r = 0; r < 2 * (i1 - i0) + 2; ++r) {
                float* er = split + r * split_stride;
                split_row(xc, s, 2 * i0 + r - s.pad_h, tw + 1, er, er + (tw + 1));
            }
            for (int64_t i = i0; i < i1; ++i) {
                const float* e[4];
                const float* o[4];
                for (int r = 0; r < 4; ++r) {
                    e[r] = split + (2 * (i - i0) + r) * split_stride;
                    o[r] = e[r] + (tw + 1);
                }
                // Blocks j of this row are blocks t = (i - i0)*tw + j of the item,
                // cut where they cross into the next sliver.
                for (int64_t j = 0; j < tw;) {
                    const int64_t t = (i - i0) * tw + j;
                    const int64_t run = std::min(tw - j, NR - t % NR);
                    float* dst = v + (t / NR) * 16 * vs + c * NR + t % NR;
                    input_transform(e, o, j, j + run, dst, vs);
                    j += run;
                }
            }
        }
        float* yn = y + n * s.F * P;
        for (int64_t p = 0; p < slivers; ++p) {
            const float* vp = v + p * 16 * vs;
            for (int xi = 0; xi < 16; ++xi)
                for (int64_t c0 = 0; c0 < s.C; c0 += cb) {
                    const int64_t kc = std::min(cb, s.C - c0);
                    gemm::tile_block_packed(u_packed + xi * us + Fr * c0, s.F, kc,
                                            vp + xi * vs + c0 * NR, NR, m + xi * ms,
                                            NR, c0 > 0);
                }
            // M[xi][f][u] -> pixels, block row by block row
            const int64_t t0 = p * NR, t1 = std::min(tiles, t0 + NR);
            for (int64_t t = t0; t < t1;) {
                const int64_t i = i0 + t / tw, j = t % tw, run = std::min(tw - j, t1 - t);
                const int64_t cols = std::min(2 * run, s.OW - 2 * j);
                const bool bottom = 2 * i + 1 < s.OH;
                for (int64_t f = 0; f < s.F; ++f) {
                    float* y0 = yn + f * P + 2 * i * s.OW + 2 * j;
                    output_transform(m + f * NR + (t - t0), ms, run, cols, y0,
                                     bottom ? y0 + s.OW : nullptr);
                }
                t += run;
            }
        }
    }
    for (int64_t n = 0; n < s.N; ++n)
        if (std::find(item_ok.begin() + n * bands, item_ok.begin() + (n + 1) * bands, 0) !=
            item_ok.begin() + (n + 1) * bands) {
            Conv2dShape one = s;
            one.N = 1;
            conv2d_direct(x + n * s.C * s.H * s.W, weight, y + n * s.F * P, one);
        }
}

}  // namespace tinytorch
