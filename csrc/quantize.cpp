// Module 17: what surrounds the int8 GEMM -- dynamic activation quantization
// and the epilogue that turns int32 accumulators back into real numbers.
//
// Dynamic quantization (as torch.ao.quantization.quantize_dynamic does, but
// with all 8 bits: the AVX2 kernel cannot saturate, so no reduce_range):
//   lo = min(min(x), 0), hi = max(max(x), 0)            per row or per tensor
//   scale = max((hi - lo) / (qmax - qmin), eps),  zp = qmin - nearbyint(lo / scale)
//   q = clamp(nearbyint(x * (1 / scale)) + zp, qmin, qmax)
// in float32, operation for operation the same as tinytorch.quant's
// calculate_qparams + quantize_per_tensor, so the codes agree bit for bit
// (vcvtps2dq rounds to nearest even under the default MXCSR, like nearbyint).
//
// The epilogue, per element of an MR x NR tile:
//   y = float(acc - a_zp[i] * colsum[j]) * (a_scale[i] * w_scale[j]) + bias[j]
//   relu: y = max(y, 0);   requantize: q = clamp(nearbyint(y / out_scale) + out_zp)
// acc - a_zp * colsum is exact in wrapping int32 arithmetic while the true
// value fits (the bindings limit K), because it equals sum_k (a - zp) * w.
#include <immintrin.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

#include "qgemm.h"

#define TT_AVX2 __attribute__((target("avx2,fma")))

namespace tinytorch::qgemm {

namespace {

inline float epilogue_value(const Epilogue& ep, int32_t acc, int64_t i, int64_t j) {
    // BEGIN SOLUTION 17
    const int32_t centered = int32_t(uint32_t(acc) - uint32_t(ep.a_zp[i]) * uint32_t(ep.w_colsum[j]));
    float y = float(centered) * (ep.a_scale[i] * ep.w_scale[j]);
    if (ep.bias) y += ep.bias[j];
    if (ep.relu) y = std::max(y, 0.0f);
    return y;
    // END SOLUTION
}

inline int64_t out_index(const Epilogue& ep, int64_t i, int64_t j) {
    if (ep.plane == 0) return i * ep.ldo + j;
    const int64_t image = i / ep.plane;
    return (image * ep.ldo + j) * ep.plane + (i - image * ep.plane);
}

inline int32_t requantize(float y, float inv_scale, int32_t zp, int32_t lo, int32_t hi) {
    const float v = std::nearbyint(std::fma(y, inv_scale, float(zp)));  // as quantize_per_tensor
    if (!(v == v)) return hi;
    return int32_t(std::clamp(v, float(lo), float(hi)));
}

}  // namespace

int32_t quantize_one(float x, float inv_scale, int32_t zp, int32_t lo, int32_t hi) {
    return requantize(x, inv_scale, zp, lo, hi);
}

void apply_epilogue(const Epilogue& ep, const int32_t* acc, int64_t ld, int64_t i0, int64_t j0,
                    int64_t rows, int64_t cols) {
    const float inv = 1.0f / ep.out_scale;
    const int32_t lo = ep.out_kind == 1 ? -128 : 0, hi = ep.out_kind == 1 ? 127 : 255;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t j = j0 + c;
            const float y = epilogue_value(ep, acc[r * ld + c], i, j);
            if (ep.out_kind == 0) {
                static_cast<float*>(ep.out)[out_index(ep, i, j)] = y;
            } else {
                const int32_t q = requantize(y, inv, ep.out_zp, lo, hi);
                static_cast<uint8_t*>(ep.out)[out_index(ep, i, j)] = uint8_t(q);  // int8: same bits
            }
        }
    }
}

// The vector epilogue: 8 columns at a time (multiply, then add: no FMA, so
// the result is the scalar one bit for bit), scalar for the last few.
TT_AVX2 void apply_epilogue_avx2(const Epilogue& ep, const int32_t* acc, int64_t ld, int64_t i0,
                                 int64_t j0, int64_t rows, int64_t cols) {
    const float inv = 1.0f / ep.out_scale;
    const int32_t lo = ep.out_kind == 1 ? -128 : 0, hi = ep.out_kind == 1 ? 127 : 255;
    const __m256 vinv = _mm256_set1_ps(inv), zero = _mm256_setzero_ps();
    const __m256 vzp = _mm256_set1_ps(float(ep.out_zp));
    const __m256 vlo_f = _mm256_set1_ps(float(lo)), vhi_f = _mm256_set1_ps(float(hi));
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        const __m256i azp = _mm256_set1_epi32(ep.a_zp[i]);
        const __m256 asc = _mm256_set1_ps(ep.a_scale[i]);
        int64_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            const int64_t j = j0 + c;
            const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + r * ld + c));
            const __m256i cs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ep.w_colsum + j));
            const __m256i centered = _mm256_sub_epi32(a, _mm256_mullo_epi32(azp, cs));
            const __m256 s = _mm256_mul_ps(asc, _mm256_loadu_ps(ep.w_scale + j));
            __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(centered), s);
            if (ep.bias) y = _mm256_add_ps(y, _mm256_loadu_ps(ep.bias + j));
            if (ep.relu) y = _mm256_max_ps(y, zero);
            if (ep.out_kind == 0 && ep.plane == 0) {
                _mm256_storeu_ps(static_cast<float*>(ep.out) + i * ep.ldo + j, y);
                continue;
            }
            if (ep.out_kind == 0) {  // NCHW: the 8 channels are `plane` floats apart
                alignas(32) float ys[8];
                _mm256_store_ps(ys, y);
                float* o = static_cast<float*>(ep.out) + out_index(ep, i, j);
                for (int t = 0; t < 8; ++t) o[t * ep.plane] = ys[t];
                continue;
            }
            // vcvtps2dq rounds half to even; out-of-range floats become INT_MIN
            // (then clamp to lo), so clamp in float first
            __m256 v = _mm256_round_ps(_mm256_fmadd_ps(y, vinv, vzp),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            v = _mm256_blendv_ps(v, vhi_f, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));  // NaN -> hi
            v = _mm256_min_ps(_mm256_max_ps(v, vlo_f), vhi_f);
            const __m256i q = _mm256_cvtps_epi32(v);
            alignas(32) int32_t qs[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(qs), q);
            uint8_t* o = static_cast<uint8_t*>(ep.out) + out_index(ep, i, j);
            const int64_t step = ep.plane ? ep.plane : 1;
            for (int t = 0; t < 8; ++t) o[t * step] = uint8_t(qs[t]);
        }
        if (c < cols) apply_epilogue(ep, acc + r * ld + c, ld, i, j0 + c, 1, cols - c);
    }
}

TT_AVX2 void minmax_avx2(const float* x, int64_t n, float* lo, float* hi) {
    __m256 vlo = _mm256_set1_ps(FLT_MAX), vhi = _mm256_set1_ps(-FLT_MAX);
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        const __m256 v = _mm256_loadu_ps(x + k);
        vlo = _mm256_min_ps(vlo, v);
        vhi = _mm256_max_ps(vhi, v);
    }
    alignas(32) float l[8], h[8];
    _mm256_store_ps(l, vlo);
    _mm256_store_ps(h, vhi);
    float a = *lo, b = *hi;
    for (int t = 0; t < 8; ++t) {
        a = std::min(a, l[t]);
        b = std::max(b, h[t]);
    }
    for (; k < n; ++k) {
        a = std::min(a, x[k]);
        b = std::max(b, x[k]);
    }
    *lo = a;
    *hi = b;
}

// q[r, k] for rows [r0, r1): 8 values per step, scalar tail.
TT_AVX2 void quantize_rows_avx2(const float* x, int64_t r0, int64_t r1, int64_t K,
                                const float* inv, const int32_t* zp, int32_t qmin, int32_t qmax,
                                bool per_row, uint8_t* q, bool to_signed) {
    (void)to_signed;  // int8 and uint8 codes have the same low byte
    const __m256 vlo = _mm256_set1_ps(float(qmin)), vhi = _mm256_set1_ps(float(qmax));
    for (int64_t r = r0; r < r1; ++r) {
        const float s = per_row ? inv[r] : inv[0];
        const int32_t z = per_row ? zp[r] : zp[0];
        const __m256 vs = _mm256_set1_ps(s), vz = _mm256_set1_ps(float(z));
        const float* xr = x + r * K;
        uint8_t* qr = q + r * K;
        int64_t k = 0;
        for (; k + 8 <= K; k += 8) {
            __m256 v = _mm256_round_ps(_mm256_fmadd_ps(_mm256_loadu_ps(xr + k), vs, vz),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            v = _mm256_blendv_ps(v, vhi, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));  // NaN -> qmax
            v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi);
            const __m256i c = _mm256_cvtps_epi32(v);
            // 8 int32 -> 8 bytes: pack to int16 (in range), then to bytes by shuffle
            const __m128i lo4 = _mm256_castsi256_si128(c), hi4 = _mm256_extracti128_si256(c, 1);
            const __m128i w16 = _mm_packs_epi32(lo4, hi4);
            const __m128i b8 = _mm_shuffle_epi8(
                w16, _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1));
            _mm_storel_epi64(reinterpret_cast<__m128i*>(qr + k), b8);
        }
        for (; k < K; ++k) {
            qr[k] = uint8_t(quantize_one(xr[k], s, z, qmin, qmax));
        }
    }
}

}  // namespace tinytorch::qgemm

namespace tinytorch {

void quantize_dynamic_rows(const float* x, int64_t M, int64_t K, bool per_row, bool to_signed,
                           bool reduce_range, uint8_t* q, float* scale, int32_t* zp) {
    int32_t qmin = to_signed ? -128 : 0, qmax = to_signed ? 127 : 255;
    if (reduce_range) {
        qmin = to_signed ? -64 : 0;
        qmax = to_signed ? 63 : 127;
    }
    const bool avx2 = qgemm::cpu_has_avx2();
    const int64_t groups = per_row ? M : 1;
    std::vector<float> inv(groups);
    // 1. the extremes of each row (or of everything)
    std::vector<float> lo(M, FLT_MAX), hi(M, -FLT_MAX);
#pragma omp parallel for schedule(static) if (M * K > (1 << 16))
    for (int64_t r = 0; r < M; ++r) {
        if (avx2) {
            qgemm::minmax_avx2(x + r * K, K, &lo[r], &hi[r]);
        } else {
            for (int64_t k = 0; k < K; ++k) {
                lo[r] = std::min(lo[r], x[r * K + k]);
                hi[r] = std::max(hi[r], x[r * K + k]);
            }
        }
    }
    if (!per_row) {
        for (int64_t r = 1; r < M; ++r) {
            lo[0] = std::min(lo[0], lo[r]);
            hi[0] = std::max(hi[0], hi[r]);
        }
    }
    // 2. scale and zero point: the MinMaxObserver arithmetic, in float32
    for (int64_t g = 0; g < groups; ++g) {
        const float min_neg = std::min(M > 0 && K > 0 ? lo[g] : 0.0f, 0.0f);
        const float max_pos = std::max(M > 0 && K > 0 ? hi[g] : 0.0f, 0.0f);
        float s = (max_pos - min_neg) / float(qmax - qmin);
        s = std::max(s, FLT_EPSILON);
        const int32_t z = qmin - int32_t(std::nearbyint(min_neg / s));
        scale[g] = s;
        zp[g] = std::clamp(z, qmin, qmax);
        inv[g] = 1.0f / s;
    }
    // 3. the codes
#pragma omp parallel for schedule(static) if (M * K > (1 << 16))
    for (int64_t r = 0; r < M; ++r) {
        if (avx2) {
            qgemm::quantize_rows_avx2(x, r, r + 1, K, inv.data(), zp, qmin, qmax, per_row, q,
                                      to_signed);
        } else {
            const float s = inv[per_row ? r : 0];
            const int32_t z = zp[per_row ? r : 0];
            for (int64_t k = 0; k < K; ++k) {
                q[r * K + k] = uint8_t(qgemm::quantize_one(x[r * K + k], s, z, qmin, qmax));
            }
        }
    }
}

}  // namespace tinytorch
