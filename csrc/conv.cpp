// 2-D convolution as im2col + GEMM (Module 08, made fast in Module 15).
//
// One image x[n]: (C, H, W). Lay each receptive field out as a column:
//
//   cols[(c*KH + kh)*KW + kw, oh*OW + ow] = x[n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
//
// (zero where that lands in the padding). Then the whole convolution is
//
//   y[n]      (F, OH*OW)   = W (F, C*KH*KW)    @ cols   (C*KH*KW, OH*OW)
//   grad_cols (C*KH*KW, P) = W^T               @ grad_y[n] (F, P),   col2im -> grad_x[n]
//   grad_W    (F, C*KH*KW) += grad_y[n] (F, P) @ cols^T
//
// and the GEMM (matmul.cpp) does the heavy lifting at close to peak speed.
// Two systems choices around it:
//
//  * Cache-sized pieces. A whole image's cols matrix is KH*KW times the
//    image (a 64-channel 32x32 image with a 3x3 kernel: 2.3 MB, more than
//    L2; a 224x224 one: 115 MB). We build it in pieces of at most cols_bytes()
//    so the GEMM reads the piece back from L2 right after im2col wrote it,
//    and the per-thread buffer stays small however large the image is.
//    (Measured on the 32x32 layer: the same speed as whole-image cols, since
//    the GEMM re-packs its B operand anyway; the gain is the bounded memory.)
//  * Threads over independent pieces of work, each with its own buffer:
//    (image, column range) for the forward pass and the weight gradient,
//    (image, channel range) for the input gradient (col2im of different
//    channels writes different planes of grad_x, so no two threads ever
//    write the same pixel). Each piece runs a single-threaded GEMM, so there
//    is one fork/join per call, not one per GEMM. The weight gradient sums
//    over the whole batch: every thread accumulates into a private copy and
//    the copies are added once at the end (no locks, no atomics).
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gemm_pack.h"
#include "kernels.h"
#include "simd.h"

namespace tinytorch {
namespace {

// Segments are short (one output row: OW = 32 floats on a CIFAR-sized layer).
// These inline loops move whole vectors and finish with scalars, instead of a
// memcpy/memset call per segment. Measured with callgrind (N=32, 64->64 channels,
// 32x32, 3x3, one thread): im2col executes the same instruction count either
// way (112.8M), so this is not a speed-up; im2col is ~25% of the forward's
// instructions, the GEMM micro-kernels ~62%.
inline void copy_floats(float* d, const float* s, int64_t n) {
    int64_t i = 0;
    for (; i + simd::VL <= n; i += simd::VL) simd::vstoreu(d + i, simd::vloadu(s + i));
    for (; i < n; ++i) d[i] = s[i];
}
inline void zero_floats(float* d, int64_t n) {
    int64_t i = 0;
    for (; i + simd::VL <= n; i += simd::VL) simd::vstoreu(d + i, simd::vzero());
    for (; i < n; ++i) d[i] = 0.0f;
}
inline void add_floats(float* d, const float* s, int64_t n) {
    int64_t i = 0;
    for (; i + simd::VL <= n; i += simd::VL)
        simd::vstoreu(d + i, simd::vadd(simd::vloadu(d + i), simd::vloadu(s + i)));
    for (; i < n; ++i) d[i] += s[i];
}

// Bytes of one cols piece: half of this CPU's per-core L2 (gemm_blocking.cpp
// reads the cache sizes), so the piece and the GEMM's packed copy of it (its
// B panel) both stay in L2: 256 KiB on a 512 KiB-L2 Zen 3, 512 KiB with 1 MiB.
int64_t cols_bytes() {
    return std::clamp<int64_t>(gemm_blocking().l2 / 2, 64 * 1024, 4 * 1024 * 1024);
}
// Below this many multiply-adds a call runs on one thread: waking the
// OpenMP team costs a few microseconds.
constexpr int64_t MIN_PARALLEL_WORK = int64_t{1} << 18;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The range [lo, hi) of output columns ow whose tap at input offset `off`
// (= kw*dw - pw) lands inside [0, W): 0 <= ow*sw + off < W.
void valid_range(int64_t off, int64_t W, int64_t sw, int64_t OW, int64_t& lo, int64_t& hi) {
    lo = off >= 0 ? 0 : ceil_div(-off, sw);
    hi = W - off <= 0 ? 0 : std::min(OW, ceil_div(W - off, sw));
    lo = std::min(lo, OW);
    hi = std::max(hi, lo);
}

// Visit the im2col matrix of one image, restricted to rows of channels
// [c0, c1) and output pixels [p0, p1), one output-row segment at a time:
// visit(row, dst_offset, ih_valid, src_row_offset, ow0, ow1, lo, hi, off_w),
// where dst_offset is where this segment starts in a (rows, p1 - p0) buffer.
// im2col and col2im share it, so they cannot disagree about the layout.
template <class Visit>
void for_each_segment(const Conv2dShape& s, int64_t c0, int64_t c1, int64_t p0, int64_t p1,
                      Visit visit) {
    const int64_t ld = p1 - p0;
    for (int64_t c = c0; c < c1; ++c)
        for (int64_t kh = 0; kh < s.KH; ++kh)
            for (int64_t kw = 0; kw < s.KW; ++kw) {
                const int64_t row = ((c - c0) * s.KH + kh) * s.KW + kw;
                const int64_t off_h = kh * s.dil_h - s.pad_h, off_w = kw * s.dil_w - s.pad_w;
                int64_t lo, hi;
                valid_range(off_w, s.W, s.stride_w, s.OW, lo, hi);
                for (int64_t p = p0; p < p1;) {
                    const int64_t oh = p / s.OW, ow0 = p - oh * s.OW;
                    const int64_t ow1 = std::min(s.OW, ow0 + (p1 - p));
                    const int64_t ih = oh * s.stride_h + off_h;
                    const bool inside = ih >= 0 && ih < s.H;
                    visit(row * ld + (p - p0), inside, (c * s.H + ih) * s.W, ow0, ow1, lo, hi,
                          off_w);
                    p += ow1 - ow0;
                }
            }
}

}  // namespace

void im2col(const float* x, const Conv2dShape& s, int64_t c0, int64_t c1, int64_t p0,
            int64_t p1, float* cols) {
    const int64_t sw = s.stride_w;
    for_each_segment(s, c0, c1, p0, p1,
                     [&](int64_t dst, bool inside, int64_t src, int64_t ow0, int64_t ow1,
                         int64_t lo, int64_t hi, int64_t off_w) {
        float* d = cols + dst - ow0;  // d[ow] for ow in [ow0, ow1)
        if (!inside) {
            zero_floats(d + ow0, ow1 - ow0);
            return;
        }
        const int64_t a = std::clamp(lo, ow0, ow1), b = std::clamp(hi, a, ow1);
        for (int64_t ow = ow0; ow < a; ++ow) d[ow] = 0.0f;  // the left padding: 0..pad taps
        const float* row = x + src + off_w;  // row[ow*sw] = x[c, ih, ow*sw + off_w]
        if (sw == 1) {
            copy_floats(d + a, row + a, b - a);
        } else {
            for (int64_t ow = a; ow < b; ++ow) d[ow] = row[ow * sw];
        }
        for (int64_t ow = b; ow < ow1; ++ow) d[ow] = 0.0f;
    });
}

void col2im(const float* cols, const Conv2dShape& s, int64_t c0, int64_t c1, int64_t p0,
            int64_t p1, float* x) {
    const int64_t sw = s.stride_w;
    for_each_segment(s, c0, c1, p0, p1,
                     [&](int64_t src, bool inside, int64_t dst, int64_t ow0, int64_t ow1,
                         int64_t lo, int64_t hi, int64_t off_w) {
        if (!inside) return;  // the gradient of a padding zero goes nowhere
        const float* g = cols + src - ow0;
        const int64_t a = std::clamp(lo, ow0, ow1), b = std::clamp(hi, a, ow1);
        float* row = x + dst + off_w;
        if (sw == 1) {  // unit stride: whole vectors
            add_floats(row + a, g + a, b - a);
        } else {
            for (int64_t ow = a; ow < b; ++ow) row[ow * sw] += g[ow];
        }
    });
}

namespace {

// One growing buffer per thread, kept across calls: OpenMP reuses its
// threads, so steady-state convolutions never allocate (or page-fault).
float* thread_buffer(int slot, int64_t n) {
    thread_local std::vector<float> buffers[2];
    std::vector<float>& b = buffers[slot];
    if (static_cast<int64_t>(b.size()) < n) b.resize(static_cast<size_t>(n));
    return b.data();
}

int team_size(int64_t work, int64_t items) {
    const int64_t by_work = std::max<int64_t>(1, work / MIN_PARALLEL_WORK);
    return static_cast<int>(std::clamp<int64_t>(std::min(by_work, items), 1, get_num_threads()));
}

int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// Output pixels per cols piece: cols_bytes() of rows x columns, a multiple of
// 16 (one AVX-512 vector) so the GEMM's column blocks are never ragged.
int64_t pixel_chunk(int64_t rows, int64_t P) {
    const int64_t fit = cols_bytes() / (4 * std::max<int64_t>(rows, 1));
    return std::clamp<int64_t>(fit / 16 * 16, 16, std::max<int64_t>(P, 16));
}

}  // namespace

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
// Blocking mirrors the sgemm's: channels in blocks whose B footprint (cb
// channels x KH rows x NR + halo floats) matches the sgemm's KC x NR sliver in
// L1d, all output channels of a block's packed weights in L2, and the padded
// slab of a work item (a range of output rows of one image) within half of L2.
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

int64_t balanced(int64_t total, int64_t max_step) {
    const int64_t blocks = ceil_div(total, std::max<int64_t>(max_step, 1));
    return ceil_div(total, blocks);
}

}  // namespace

bool conv2d_direct_applies(const Conv2dShape& s) { return s.stride_w == 1; }

static void conv2d_direct(const float* x, const float* weight, float* y, const Conv2dShape& s) {
    const int64_t KK = s.KH * s.KW, K = s.C * KK, P = s.OH * s.OW;
    const int64_t Wp = s.W + 2 * s.pad_w;  // = OW + (KW - 1)*dw: every tap of every output
    const GemmBlocking& blocking = gemm_blocking();
    // Channels per block: cb*KK rows of B, as deep as the sgemm's KC.
    const int64_t cb = balanced(s.C, blocking.kc / KK);
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
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t item = 0; item < items; ++item) {
        const int64_t n = item / groups, oh0 = (item % groups) * rows;
        const int64_t oh1 = std::min(s.OH, oh0 + rows);
        thread_local simd::AlignedBuffer slab_buffer;
        float* xp = slab_buffer.get(slab);
        // the zero-padded slab: rows ih = oh0*sh - ph + r of every channel
        const float* xn = x + n * s.C * s.H * s.W;
        const int64_t ih0 = oh0 * s.stride_h - s.pad_h;
        for (int64_t c = 0; c < s.C; ++c)
            for (int64_t r = 0; r < R; ++r) {
                float* d = xp + c * plane + r * Wp;
                const int64_t ih = ih0 + r;
                if (ih < 0 || ih >= s.H) {
                    zero_floats(d, Wp);
                    continue;
                }
                zero_floats(d, s.pad_w);
                copy_floats(d + s.pad_w, xn + (c * s.H + ih) * s.W, s.W);
                zero_floats(d + s.pad_w + s.W, s.pad_w);
            }
        zero_floats(xp + s.C * plane, VL);
        float* yn = y + n * s.F * P;
        for (int64_t oh = oh0; oh < oh1; ++oh) {
            for (int64_t c0 = 0; c0 < s.C; c0 += cb) {
                const int64_t cbn = std::min(cb, s.C - c0), k0 = c0 * KK, kc = cbn * KK;
                const float* a_block = packed + Fr * k0;
                const float* xrow = xp + c0 * plane + (oh - oh0) * s.stride_h * Wp;
                for (int64_t ow = 0; ow < s.OW; ow += NR) {
                    const int64_t cols = std::min(NR, s.OW - ow), vecs = ceil_div(cols, VL);
                    const int64_t last = vecs > 1 ? cols - VL : 0;
                    const direct_table& table = direct_kernels[vecs - 1];
                    for (int64_t f = 0; f < s.F; f += MR) {
                        const int64_t m = std::min(MR, s.F - f);
                        table[m - 1](cbn, KK, tap_off.data(), plane, a_block + f * kc, xrow + ow,
                                     yn + f * P + oh * s.OW + ow, P, cols, last, c0 > 0);
                    }
                }
            }
        }
    }
}

void conv2d_forward(const float* x, const float* weight, float* y, const Conv2dShape& s,
                    ConvAlgorithm algorithm) {
    if (algorithm == ConvAlgorithm::direct ||
        (algorithm == ConvAlgorithm::automatic && conv2d_direct_applies(s))) {
        conv2d_direct(x, weight, y, s);
        return;
    }
    const int64_t K = s.C * s.KH * s.KW, P = s.OH * s.OW;
    const int64_t chunk = pixel_chunk(K, P), chunks = ceil_div(P, chunk);
    const int64_t items = s.N * chunks;
    const int threads = team_size(s.N * s.F * P * K, items);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t item = 0; item < items; ++item) {
        const int64_t n = item / chunks, p0 = (item % chunks) * chunk;
        const int64_t p1 = std::min(P, p0 + chunk);
        float* cols = thread_buffer(0, K * chunk);
        im2col(x + n * s.C * s.H * s.W, s, 0, s.C, p0, p1, cols);
        // y[n][:, p0:p1] (F, p1-p0), row stride P = W (F, K) @ cols (K, p1-p0)
        sgemm_threads(false, false, s.F, p1 - p0, K, weight, K, cols, p1 - p0,
                      y + n * s.F * P + p0, P, 1);
    }
}

void conv2d_backward_input(const float* grad_out, const float* weight, float* grad_x,
                           const Conv2dShape& s) {
    const int64_t KK = s.KH * s.KW, K = s.C * KK, P = s.OH * s.OW;
    // Channels per piece: their KK rows of cols, times P pixels, fit cols_bytes().
    const int64_t per = std::clamp<int64_t>(cols_bytes() / (4 * KK * P), 1, std::max<int64_t>(s.C, 1));
    const int64_t groups = ceil_div(s.C, per), items = s.N * groups;
    const int threads = team_size(s.N * s.F * P * K, items);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t item = 0; item < items; ++item) {
        const int64_t n = item / groups, c0 = (item % groups) * per;
        const int64_t c1 = std::min(s.C, c0 + per);
        float* gx = grad_x + n * s.C * s.H * s.W;
        std::fill(gx + c0 * s.H * s.W, gx + c1 * s.H * s.W, 0.0f);
        float* cols = thread_buffer(0, (c1 - c0) * KK * P);
        // rows [c0*KK, c1*KK) of W^T (K, F) @ grad_out[n] (F, P); W stored (F, K)
        sgemm_threads(true, false, (c1 - c0) * KK, P, s.F, weight + c0 * KK, K,
                      grad_out + n * s.F * P, P, cols, P, 1);
        col2im(cols, s, c0, c1, 0, P, gx);
    }
}

void conv2d_backward_weight(const float* grad_out, const float* x, float* grad_w,
                            const Conv2dShape& s) {
    const int64_t K = s.C * s.KH * s.KW, P = s.OH * s.OW, FK = s.F * K;
    const int64_t chunk = pixel_chunk(K, P), chunks = ceil_div(P, chunk);
    const int64_t items = s.N * chunks;
    const int threads = team_size(s.N * s.F * P * K, items);
    // One private (F, K) accumulator per thread; summed once at the end.
    std::vector<float> partial(static_cast<size_t>(threads * FK), 0.0f);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        float* acc = partial.data() + thread_id() * FK;
#pragma omp for schedule(static)
        for (int64_t item = 0; item < items; ++item) {
            const int64_t n = item / chunks, p0 = (item % chunks) * chunk;
            const int64_t p1 = std::min(P, p0 + chunk);
            float* cols = thread_buffer(0, K * chunk);
            float* piece = thread_buffer(1, FK);
            im2col(x + n * s.C * s.H * s.W, s, 0, s.C, p0, p1, cols);
            // grad_out[n][:, p0:p1] (F, p1-p0) @ cols^T (p1-p0, K); cols stored (K, p1-p0)
            sgemm_threads(false, true, s.F, K, p1 - p0, grad_out + n * s.F * P + p0, P, cols,
                          p1 - p0, piece, K, 1);
            for (int64_t i = 0; i < FK; ++i) acc[i] += piece[i];
        }
    }
    std::copy(partial.begin(), partial.begin() + FK, grad_w);
    for (int t = 1; t < threads; ++t)
        for (int64_t i = 0; i < FK; ++i) grad_w[i] += partial[t * FK + i];
}

}  // namespace tinytorch
