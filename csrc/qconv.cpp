// Module 17: the input side of QuantizedConv2d -- quantize and im2col in one pass.
//
// Done in NumPy, quantizing a (256, 32, 14, 14) batch and laying out its 3x3
// receptive fields as uint8 rows costs ~50 ms, four times the int8 GEMM that
// follows: the strided copy moves one byte per element through a 6-D view.
// Here each image is quantized once into a small channels-last buffer
// (Hp, Wp, C) whose border already holds the zero point, and every output row
// is then KH memcpy's of KW*C contiguous codes (with dilation, KH*KW copies
// of C). The GEMM's weights are permuted to the same (kh, kw, c) order, and
// qconv2d's epilogue writes the output channels straight into NCHW (the
// separate (N*OH*OW, F) -> (N, F, OH, OW) transpose cost as much as the
// GEMM for the CNN's first layer).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "qgemm.h"

namespace tinytorch {

namespace {

// n floats -> n codes (quantize_per_tensor's rule), 8 at a time where the CPU has AVX2
void quantize_run(const float* x, int64_t n, float inv, int32_t zp, int32_t qmin,
                  int32_t qmax, bool avx2, uint8_t* q) {
    if (avx2) {
        qgemm::quantize_rows_avx2(x, 0, 1, n, &inv, &zp, qmin, qmax, false, q, false);
        return;
    }
    for (int64_t i = 0; i < n; ++i) q[i] = uint8_t(qgemm::quantize_one(x[i], inv, zp, qmin, qmax));
}

// image (C, H, W) -> buf (Hp, Wp, C), interior only (the border is preset to zp)
void quantize_image_hwc(const float* x, const Conv2dShape& s, float inv, int32_t zp,
                        int32_t qmin, int32_t qmax, bool avx2, uint8_t* row, uint8_t* buf) {
    const int64_t Wp = s.W + 2 * s.pad_w, C = s.C;
    if (s.H * s.W == 1) {  // a 1x1 image (a Linear's input): its CHW order is HWC already
        quantize_run(x, C, inv, zp, qmin, qmax, avx2, buf + (s.pad_h * Wp + s.pad_w) * C);
        return;
    }
    for (int64_t c = 0; c < C; ++c) {
        for (int64_t h = 0; h < s.H; ++h) {
            quantize_run(x + (c * s.H + h) * s.W, s.W, inv, zp, qmin, qmax, avx2, row);
            uint8_t* dst = buf + ((h + s.pad_h) * Wp + s.pad_w) * C + c;
            for (int64_t w = 0; w < s.W; ++w) dst[w * C] = row[w];
        }
    }
}

void rows_of_image(const uint8_t* buf, const Conv2dShape& s, uint8_t* out) {
    const int64_t Wp = s.W + 2 * s.pad_w, C = s.C, run = s.KW * C;
    const int64_t K = s.KH * s.KW * C;
    for (int64_t oh = 0; oh < s.OH; ++oh) {
        for (int64_t ow = 0; ow < s.OW; ++ow) {
            uint8_t* dst = out + (oh * s.OW + ow) * K;
            for (int64_t kh = 0; kh < s.KH; ++kh) {
                const uint8_t* src = buf + ((oh * s.stride_h + kh * s.dil_h) * Wp +
                                            ow * s.stride_w) * C;
                if (s.dil_w == 1 && run <= 16) {  // e.g. 3 codes of a 1-channel image:
                    for (int64_t t = 0; t < run; ++t) dst[t] = src[t];  // no memcpy call
                    dst += run;
                } else if (s.dil_w == 1) {
                    std::memcpy(dst, src, size_t(run));
                    dst += run;
                } else {
                    for (int64_t kw = 0; kw < s.KW; ++kw, dst += C)
                        std::memcpy(dst, src + kw * s.dil_w * C, size_t(C));
                }
            }
        }
    }
}

}  // namespace

void quantize_im2col(const float* x, const Conv2dShape& s, float scale, int32_t zp,
                     int32_t qmin, int32_t qmax, uint8_t* out) {
    const float inv = 1.0f / scale;  // float32, as quantize_per_tensor
    const bool avx2 = qgemm::cpu_has_avx2();
    const int64_t plane = (s.H + 2 * s.pad_h) * (s.W + 2 * s.pad_w) * s.C;
    const int64_t image_in = s.C * s.H * s.W, image_out = s.OH * s.OW * s.KH * s.KW * s.C;
    if (image_out == 0) return;
#pragma omp parallel if (s.N > 1 && s.N * image_out > (1 << 16))
    {
        // the border keeps zp; the interior is rewritten for every image
        std::vector<uint8_t> buf(static_cast<size_t>(plane), static_cast<uint8_t>(zp));
        std::vector<uint8_t> row(static_cast<size_t>(s.W));
#pragma omp for schedule(static)
        for (int64_t n = 0; n < s.N; ++n) {
            quantize_image_hwc(x + n * image_in, s, inv, zp, qmin, qmax, avx2, row.data(),
                               buf.data());
            rows_of_image(buf.data(), s, out + n * image_out);
        }
    }
}

void qconv2d(const float* x, const Conv2dShape& s, float a_scale, int32_t a_zp,
             const int8_t* w, const float* w_scale, const int32_t* w_colsum, const float* bias,
             bool relu, float* y) {
    const int64_t P = s.OH * s.OW, M = s.N * P, K = s.KH * s.KW * s.C;
    if (M == 0 || s.F == 0) return;
    std::vector<uint8_t> cols(static_cast<size_t>(M * K));
    quantize_im2col(x, s, a_scale, a_zp, 0, 255, cols.data());
    // the epilogue reads one scale and zero point per row of A
    const std::vector<float> scale(static_cast<size_t>(M), a_scale);
    const std::vector<int32_t> zp(static_cast<size_t>(M), a_zp);
    qgemm::Epilogue ep{scale.data(), zp.data(), w_scale, w_colsum, bias, relu, 0, 1.0f, 0,
                       y, s.F};
    ep.plane = P;
    qgemm::run(false, M, s.F, K, cols.data(), K, w, K, nullptr, 0, &ep, get_num_threads());
}

}  // namespace tinytorch
