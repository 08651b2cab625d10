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
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "conv_common.h"
#include "kernels.h"
#include "simd.h"

namespace tinytorch {
using namespace conv_detail;
namespace {

// Bytes of one cols piece: half of this CPU's per-core L2 (gemm_blocking.cpp
// reads the cache sizes), so the piece and the GEMM's packed copy of it (its
// B panel) both stay in L2: 256 KiB on a 512 KiB-L2 Zen 3, 512 KiB with 1 MiB.
int64_t cols_bytes() {
    return std::clamp<int64_t>(gemm_blocking().l2 / 2, 64 * 1024, 4 * 1024 * 1024);
}

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

// Output pixels per cols piece: cols_bytes() of rows x columns, a multiple of
// 16 (one AVX-512 vector) so the GEMM's column blocks are never ragged.
int64_t pixel_chunk(int64_t rows, int64_t P) {
    const int64_t fit = cols_bytes() / (4 * std::max<int64_t>(rows, 1));
    return std::clamp<int64_t>(fit / 16 * 16, 16, std::max<int64_t>(P, 16));
}

}  // namespace

// A 1x1 kernel with unit strides and no padding: the cols matrix of image n
// is x[n] itself, (C, H*W), so the GEMMs read x (and write grad_x) in place
// and nothing is copied. Measured (N=32, 64->128 channels, 32x32, 2 threads,
// AVX2): im2col + GEMM 122 GF/s, direct 103; the GEMM on x in place is the
// fastest of the three, so `automatic` picks it.
static bool pointwise(const Conv2dShape& s) {
    return s.KH == 1 && s.KW == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
           s.pad_w == 0;
}

// The cols piece of output pixels [p0, p1) of one image xn, with its row
// stride in `ld`: for a pointwise conv x[n] itself (stride OH*OW), otherwise
// im2col into this thread's buffer (stride p1 - p0).
static const float* cols_piece(const float* xn, const Conv2dShape& s, int64_t p0, int64_t p1,
                               int64_t& ld) {
    if (pointwise(s)) {
        ld = s.OH * s.OW;
        return xn + p0;
    }
    float* piece = thread_buffer(0, s.C * s.KH * s.KW * (p1 - p0));
    im2col(xn, s, 0, s.C, p0, p1, piece);
    ld = p1 - p0;
    return piece;
}

void conv2d_forward(const float* x, const float* weight, float* y, const Conv2dShape& s,
                    ConvAlgorithm algorithm) {
    if (algorithm == ConvAlgorithm::winograd ||
        (algorithm == ConvAlgorithm::automatic && conv2d_winograd_pays(s))) {
        conv2d_winograd(x, weight, y, s);
        return;
    }
    if (algorithm == ConvAlgorithm::direct ||
        (algorithm == ConvAlgorithm::automatic && conv2d_direct_applies(s) && !pointwise(s))) {
        conv2d_direct(x, weight, y, s);
        return;
    }
    const int64_t K = s.C * s.KH * s.KW, P = s.OH * s.OW;
    const int64_t chunk = pixel_chunk(K, P), chunks = ceil_div(P, chunk);
    const int64_t items = s.N * chunks;
    const int threads = team_size(s.N * s.F * P * K, items);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
    for (int64_t item = 0; item < items; ++item) {
        const int64_t n = item / chunks, p0 = (item % chunks) * chunk;
        const int64_t p1 = std::min(P, p0 + chunk);
        int64_t ld = 0;
        const float* cols = cols_piece(x + n * s.C * s.H * s.W, s, p0, p1, ld);
        // y[n][:, p0:p1] (F, p1-p0), row stride P = W (F, K) @ cols (K, p1-p0)
        sgemm_threads(false, false, s.F, p1 - p0, K, weight, K, cols, ld, y + n * s.F * P + p0,
                      P, 1);
    }
}

// With unit strides the input gradient is itself a stride-1 convolution:
//
//   grad_x[c, ih, iw] = sum_{f,kh,kw} grad_out[f, ih + ph - kh*dh, iw + pw - kw*dw] * W[f, c, kh, kw]
//                     = sum_{f,kh',kw'} grad_out[f, ih - ph' + kh'*dh, iw - pw' + kw'*dw]
//                                       * W[f, c, KH-1-kh', KW-1-kw']
//
// with kh' = KH-1-kh and ph' = (KH-1)*dh - ph (likewise for w): the convolution
// of grad_out, padded by ph', with the weights transposed (F <-> C) and
// flipped, whose output is exactly H x W. So conv2d_direct computes it with
// no cols matrix and no col2im. It needs ph' >= 0, i.e. padding no wider than
// the kernel's reach; otherwise (and for other strides) im2col + col2im below.
static bool backward_input_is_direct(const Conv2dShape& s) {
    return s.stride_h == 1 && s.stride_w == 1 && s.pad_h <= (s.KH - 1) * s.dil_h &&
           s.pad_w <= (s.KW - 1) * s.dil_w;
}

// The stride-1 convolution that computes the input gradient (see above).
static Conv2dShape backward_input_shape(const Conv2dShape& s) {
    Conv2dShape t = s;
    t.C = s.F;
    t.H = s.OH;
    t.W = s.OW;
    t.F = s.C;
    t.OH = s.H;
    t.OW = s.W;
    t.pad_h = (s.KH - 1) * s.dil_h - s.pad_h;
    t.pad_w = (s.KW - 1) * s.dil_w - s.pad_w;
    return t;
}

bool conv2d_backward_input_applies(const Conv2dShape& s, ConvAlgorithm algorithm) {
    switch (algorithm) {
        case ConvAlgorithm::direct: return backward_input_is_direct(s);
        case ConvAlgorithm::winograd:
            return backward_input_is_direct(s) &&
                   conv2d_winograd_applies(backward_input_shape(s));
        default: return true;
    }
}

// The input gradient as the stride-1 convolution of grad_out with the flipped
// weights, computed by conv2d_forward's `algorithm` (direct or Winograd).
static void conv2d_backward_input_flipped(const float* grad_out, const float* weight,
                                          float* grad_x, const Conv2dShape& s,
                                          ConvAlgorithm algorithm) {
    const int64_t KK = s.KH * s.KW;
    thread_local std::vector<float> flipped;
    flipped.resize(static_cast<size_t>(s.C * s.F * KK));
    for (int64_t f = 0; f < s.F; ++f)
        for (int64_t c = 0; c < s.C; ++c) {
            const float* w = weight + (f * s.C + c) * KK;
            float* d = flipped.data() + (c * s.F + f) * KK;
            for (int64_t t = 0; t < KK; ++t) d[t] = w[KK - 1 - t];  // flips kh and kw at once
        }
    conv2d_forward(grad_out, flipped.data(), grad_x, backward_input_shape(s), algorithm);
}

void conv2d_backward_input(const float* grad_out, const float* weight, float* grad_x,
                           const Conv2dShape& s, ConvAlgorithm algorithm) {
    const int64_t KK = s.KH * s.KW, K = s.C * KK, P = s.OH * s.OW;
    // automatic: the in-place GEMM below for 1x1 kernels, else the flipped convolution
    // where it applies, else im2col + col2im
    const bool flipped = algorithm == ConvAlgorithm::direct ||
                         algorithm == ConvAlgorithm::winograd ||
                         (algorithm == ConvAlgorithm::automatic && !pointwise(s));
    if (flipped && backward_input_is_direct(s)) {
        conv2d_backward_input_flipped(grad_out, weight, grad_x, s, algorithm);
        return;
    }
    if (pointwise(s)) {  // grad_x[n] (C, P) = W^T (C, F) @ grad_out[n] (F, P), written in place
        const int threads = team_size(s.N * s.F * P * K, s.N);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
        for (int64_t n = 0; n < s.N; ++n)
            sgemm_threads(true, false, s.C, P, s.F, weight, K, grad_out + n * s.F * P, P,
                          grad_x + n * s.C * P, P, threads > 1 ? 1 : get_num_threads());
        return;
    }
    // Channels per piece: their KK rows of cols, times P pixels, fit cols_bytes().
    const int64_t per = std::clamp<int64_t>(cols_bytes() / (4 * KK * P), 1, std::max<int64_t>(s.C, 1));
    const int64_t groups = ceil_div(s.C, per), items = s.N * groups;
    const int threads = team_size(s.N * s.F * P * K, items);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
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
                            const Conv2dShape& s, ConvAlgorithm algorithm) {
    if (algorithm == ConvAlgorithm::direct ||
        (algorithm == ConvAlgorithm::automatic && conv2d_weight_direct_applies(s))) {
        conv2d_backward_weight_direct(grad_out, x, grad_w, s);
        return;
    }
    const int64_t K = s.C * s.KH * s.KW, P = s.OH * s.OW, FK = s.F * K;
    // The product is grad_w^T (K, F) = cols (K, pixels) @ grad_out[n]^T (pixels,
    // F), not grad_w = grad_out[n] @ cols^T: its M = C*KH*KW fills the sgemm's
    // row tiles (576 = 48 x 12; F = 64 would be 5 1/3 of them) and its N = F
    // whole vectors. At least 256 pixels per piece, so the product is deep
    // enough for the AVX2 pair tile (K >= 128). Measured on the 32x32 layer,
    // N=32, 64->64, one thread, AVX2: 58 GF/s as grad_w = grad_out @ cols^T
    // with 112-pixel pieces, 63 transposed with 256 (the same for 384 to 1024).
    const int64_t chunk = std::max(pixel_chunk(K, P), std::min<int64_t>(P, 256));
    const int64_t chunks = ceil_div(P, chunk), items = s.N * chunks;
    const int threads = team_size(s.N * s.F * P * K, items);
    // One private (K, F) accumulator per thread; summed and transposed once at the end.
    std::vector<float> partial(static_cast<size_t>(threads * FK), 0.0f);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        float* acc = partial.data() + thread_id() * FK;
#pragma omp for schedule(dynamic)
        for (int64_t item = 0; item < items; ++item) {
            const int64_t n = item / chunks, p0 = (item % chunks) * chunk;
            const int64_t p1 = std::min(P, p0 + chunk);
            float* piece = thread_buffer(1, FK);
            int64_t ld = 0;
            const float* cols = cols_piece(x + n * s.C * s.H * s.W, s, p0, p1, ld);
            // cols (K, p1-p0) @ grad_out[n][:, p0:p1]^T (p1-p0, F); grad_out stored (F, P)
            sgemm_threads(false, true, K, s.F, p1 - p0, cols, ld, grad_out + n * s.F * P + p0, P,
                          piece, s.F, 1);
            add_floats(acc, piece, FK);
        }
    }
    sum_transposed(partial.data(), threads, K, s.F, grad_w);
}

}  // namespace tinytorch
