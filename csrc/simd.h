// The vector unit, written once per instruction set (Module 15).
//
// Every SIMD kernel (matmul.cpp, norm.cpp, attention*.cpp) is written once
// against these one-line operations; the instruction set is chosen at compile
// time from what the compiler targets (-march=native, or -mavx2 -mfma):
// AVX-512 (16 floats per register), AVX2 + FMA (8), or a portable scalar
// "vector" of 4 floats the compiler may vectorise itself. VL is the number of
// floats in one vector register.
//
// Conventions shared by the three versions:
//  * vmax(a, b) / vmin(a, b) return b when either is NaN (the x86 rule), so
//    clamping as vmin(hi, vmax(lo, x)) keeps a NaN x a NaN;
//  * a lane_mask made by vmask(n) selects the first n lanes (0 <= n <= VL).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace tinytorch::simd {

#if defined(__AVX512F__)
using vec = __m512;
using lane_mask = __mmask16;
constexpr int64_t VL = 16;
// Rows of a register tile of MR x 2 vectors: 32 zmm registers hold 8 x 2 = 16
// accumulators + 2 B vectors + 1 broadcast, with room left for the compiler.
// 16 independent FMA chains cover the FMA latency (4 cycles) times the FMA
// issue rate of Zen 4 / Skylake-X.
constexpr int64_t MR = 8;
inline vec vzero() { return _mm512_setzero_ps(); }
inline vec vset1(float x) { return _mm512_set1_ps(x); }
inline vec vload(const float* p) { return _mm512_load_ps(p); }
inline vec vloadu(const float* p) { return _mm512_loadu_ps(p); }
inline void vstoreu(float* p, vec v) { _mm512_storeu_ps(p, v); }
inline vec vbroadcast(const float* p) { return _mm512_set1_ps(*p); }
inline vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
inline vec vadd(vec a, vec b) { return _mm512_add_ps(a, b); }
inline vec vsub(vec a, vec b) { return _mm512_sub_ps(a, b); }
inline vec vmul(vec a, vec b) { return _mm512_mul_ps(a, b); }
inline vec vmax(vec a, vec b) { return _mm512_max_ps(a, b); }
inline vec vmin(vec a, vec b) { return _mm512_min_ps(a, b); }
inline vec vdiv(vec a, vec b) { return _mm512_div_ps(a, b); }
// |a| and a's magnitude with b's sign: bit operations on the sign bit
inline vec vabs(vec a) { return _mm512_andnot_ps(_mm512_set1_ps(-0.0f), a); }
inline vec vcopysign(vec a, vec b) {
    const vec sign = _mm512_set1_ps(-0.0f);
    return _mm512_or_ps(_mm512_andnot_ps(sign, a), _mm512_and_ps(sign, b));
}
inline vec vround(vec x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
// p * 2^n for integral n: one instruction, subnormal results rounded correctly
inline vec vldexp(vec p, vec n) { return _mm512_scalef_ps(p, n); }
inline lane_mask vmask(int64_t n) {
    return n >= VL ? lane_mask(0xFFFF) : n <= 0 ? lane_mask(0) : lane_mask((1u << n) - 1);
}
inline vec vload_masked(const float* p, lane_mask m) { return _mm512_maskz_loadu_ps(m, p); }
inline void vstore_masked(float* p, vec v, lane_mask m) { _mm512_mask_storeu_ps(p, m, v); }
// lanes selected by m from a, the others from b
inline vec vselect(lane_mask m, vec a, vec b) { return _mm512_mask_blend_ps(m, b, a); }
// lo = a0 b0 a1 b1 ... a7 b7, hi = a8 b8 ... a15 b15 (two rows of pairs, Winograd's output)
inline void vinterleave(vec a, vec b, vec& lo, vec& hi) {
    const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ihi =
        _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    lo = _mm512_permutex2var_ps(a, ilo, b);
    hi = _mm512_permutex2var_ps(a, ihi, b);
}
// even = x0 x2 ... x30, odd = x1 x3 ... x31 of the 32 floats lo (x0..x15), hi (x16..x31)
inline void vdeinterleave(vec lo, vec hi, vec& even, vec& odd) {
    const __m512i ie =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i io =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    even = _mm512_permutex2var_ps(lo, ie, hi);
    odd = _mm512_permutex2var_ps(lo, io, hi);
}
inline float vreduce_add(vec v) { return _mm512_reduce_add_ps(v); }
inline float vreduce_max(vec v) { return _mm512_reduce_max_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
using vec = __m256;
using lane_mask = __m256i;
constexpr int64_t VL = 8;
// 16 ymm registers: 6 x 2 = 12 accumulators + 2 B vectors + 1 broadcast = 15.
#ifdef TINYTORCH_GEMM_MR  // experiments only (see gemm_pack.h)
constexpr int64_t MR = TINYTORCH_GEMM_MR;
#else
constexpr int64_t MR = 6;
#endif
inline vec vzero() { return _mm256_setzero_ps(); }
inline vec vset1(float x) { return _mm256_set1_ps(x); }
inline vec vload(const float* p) { return _mm256_load_ps(p); }
inline vec vloadu(const float* p) { return _mm256_loadu_ps(p); }
inline void vstoreu(float* p, vec v) { _mm256_storeu_ps(p, v); }
inline vec vbroadcast(const float* p) { return _mm256_broadcast_ss(p); }
inline vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
inline vec vadd(vec a, vec b) { return _mm256_add_ps(a, b); }
inline vec vsub(vec a, vec b) { return _mm256_sub_ps(a, b); }
inline vec vmul(vec a, vec b) { return _mm256_mul_ps(a, b); }
inline vec vmax(vec a, vec b) { return _mm256_max_ps(a, b); }
inline vec vmin(vec a, vec b) { return _mm256_min_ps(a, b); }
inline vec vdiv(vec a, vec b) { return _mm256_div_ps(a, b); }
inline vec vabs(vec a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline vec vcopysign(vec a, vec b) {
    const vec sign = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign, a), _mm256_and_ps(sign, b));
}
inline vec vround(vec x) {
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
// p * 2^n for integral n in [-151, 128]: 2^n is built as 2^(n>>1) * 2^(n - (n>>1)),
// two powers whose exponent fields are both in the normal range, so results
// down in the subnormals are rounded once, correctly, by the last multiply.
inline vec vldexp(vec p, vec n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const vec s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const vec s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}
inline lane_mask vmask(int64_t n) {
    const int32_t k = static_cast<int32_t>(std::clamp<int64_t>(n, 0, VL));
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline vec vload_masked(const float* p, lane_mask m) { return _mm256_maskload_ps(p, m); }
inline void vstore_masked(float* p, vec v, lane_mask m) { _mm256_maskstore_ps(p, m, v); }
inline vec vselect(lane_mask m, vec a, vec b) {
    return _mm256_blendv_ps(b, a, _mm256_castsi256_ps(m));
}
// lo = a0 b0 a1 b1 a2 b2 a3 b3, hi = a4 b4 ... a7 b7
inline void vinterleave(vec a, vec b, vec& lo, vec& hi) {
    const vec t0 = _mm256_unpacklo_ps(a, b), t1 = _mm256_unpackhi_ps(a, b);  // per 128-bit half
    lo = _mm256_permute2f128_ps(t0, t1, 0x20);
    hi = _mm256_permute2f128_ps(t0, t1, 0x31);
}
// even = x0 x2 ... x14, odd = x1 x3 ... x15 of lo (x0..x7), hi (x8..x15)
inline void vdeinterleave(vec lo, vec hi, vec& even, vec& odd) {
    // per 128-bit half: lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6; then 64-bit pieces 0, 2, 1, 3
    const vec e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    const vec o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}
inline float vreduce_add(vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
inline float vreduce_max(vec v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}
#else
// Scalar fallback: a "vector" of 4 floats the compiler may vectorise itself.
constexpr int64_t VL = 4;
struct vec {
    float x[VL];
};
using lane_mask = int64_t;  // number of valid lanes
constexpr int64_t MR = 4;
template <class F>
inline vec vmap(vec a, vec b, F f) {
    for (int64_t l = 0; l < VL; ++l) a.x[l] = f(a.x[l], b.x[l]);
    return a;
}
inline vec vzero() { return vec{}; }
inline vec vset1(float x) {
    vec v;
    for (int64_t l = 0; l < VL; ++l) v.x[l] = x;
    return v;
}
inline vec vload(const float* p) {
    vec v;
    for (int64_t l = 0; l < VL; ++l) v.x[l] = p[l];
    return v;
}
inline vec vloadu(const float* p) { return vload(p); }
inline void vstoreu(float* p, vec v) {
    for (int64_t l = 0; l < VL; ++l) p[l] = v.x[l];
}
inline vec vbroadcast(const float* p) { return vset1(*p); }
// lo = a0 b0 a1 b1, hi = a2 b2 a3 b3
inline void vinterleave(vec a, vec b, vec& lo, vec& hi) {
    for (int64_t l = 0; l < VL / 2; ++l) {
        lo.x[2 * l] = a.x[l], lo.x[2 * l + 1] = b.x[l];
        hi.x[2 * l] = a.x[VL / 2 + l], hi.x[2 * l + 1] = b.x[VL / 2 + l];
    }
}
// even = x0 x2 x4 x6, odd = x1 x3 x5 x7 of lo (x0..x3), hi (x4..x7)
inline void vdeinterleave(vec lo, vec hi, vec& even, vec& odd) {
    for (int64_t l = 0; l < VL / 2; ++l) {
        even.x[l] = lo.x[2 * l], odd.x[l] = lo.x[2 * l + 1];
        even.x[VL / 2 + l] = hi.x[2 * l], odd.x[VL / 2 + l] = hi.x[2 * l + 1];
    }
}
inline vec vfma(vec a, vec b, vec c) {  // a*b + c (one fused op where the target has FMA)
    for (int64_t l = 0; l < VL; ++l) c.x[l] += a.x[l] * b.x[l];
    return c;
}
inline vec vadd(vec a, vec b) { return vmap(a, b, [](float x, float y) { return x + y; }); }
inline vec vsub(vec a, vec b) { return vmap(a, b, [](float x, float y) { return x - y; }); }
inline vec vmul(vec a, vec b) { return vmap(a, b, [](float x, float y) { return x * y; }); }
inline vec vmax(vec a, vec b) { return vmap(a, b, [](float x, float y) { return x > y ? x : y; }); }
inline vec vmin(vec a, vec b) { return vmap(a, b, [](float x, float y) { return x < y ? x : y; }); }
inline vec vdiv(vec a, vec b) { return vmap(a, b, [](float x, float y) { return x / y; }); }
inline vec vabs(vec a) { return vmap(a, a, [](float x, float) { return std::fabs(x); }); }
inline vec vcopysign(vec a, vec b) {
    return vmap(a, b, [](float x, float y) { return std::copysign(x, y); });
}
inline vec vround(vec x) { return vmap(x, x, [](float v, float) { return std::nearbyint(v); }); }
inline vec vldexp(vec p, vec n) {
    for (int64_t l = 0; l < VL; ++l) {
        // as the AVX2 version; a NaN n (from a NaN input, p is NaN too) must not
        // reach the float -> int conversion, which would be undefined behaviour
        const int32_t ni = n.x[l] == n.x[l] ? static_cast<int32_t>(n.x[l]) : 0;
        const int32_t n1 = ni >> 1, n2 = ni - n1;
        const uint32_t b1 = static_cast<uint32_t>(n1 + 127) << 23;
        const uint32_t b2 = static_cast<uint32_t>(n2 + 127) << 23;
        float s1, s2;
        std::memcpy(&s1, &b1, sizeof s1);
        std::memcpy(&s2, &b2, sizeof s2);
        p.x[l] = p.x[l] * s1 * s2;
    }
    return p;
}
inline lane_mask vmask(int64_t n) { return std::clamp<int64_t>(n, 0, VL); }
inline vec vload_masked(const float* p, lane_mask m) {
    vec v{};
    for (int64_t l = 0; l < m; ++l) v.x[l] = p[l];
    return v;
}
inline void vstore_masked(float* p, vec v, lane_mask m) {
    for (int64_t l = 0; l < m; ++l) p[l] = v.x[l];
}
inline vec vselect(lane_mask m, vec a, vec b) {
    for (int64_t l = 0; l < m; ++l) b.x[l] = a.x[l];
    return b;
}
inline float vreduce_add(vec v) {
    float s = 0.0f;
    for (int64_t l = 0; l < VL; ++l) s += v.x[l];
    return s;
}
inline float vreduce_max(vec v) {
    float m = v.x[0];
    for (int64_t l = 1; l < VL; ++l) m = v.x[l] > m ? v.x[l] : m;
    return m;
}
#endif

// e^x for every lane, about 1 ulp, the way vector math libraries do it:
//   e^x = 2^n * e^r,  n = round(x / ln 2),  r = x - n ln 2 in [-ln2/2, ln2/2].
// ln 2 is split in two (Cody-Waite): n * LN2_HI is exact (LN2_HI has 9
// significant bits, |n| <= 150), so r loses nothing to cancellation. e^r is
// 1 + r + r^2 q(r) with q of degree 4, fitted for relative error on that
// interval (worst-case fit error 3e-9, below float32's 6e-8; measured max
// error of the whole function 1 ulp). x is clamped first: below -104 the
// result is 0 exactly (so exp(-inf) = 0, which masked scores rely on), above
// 88.8 it is +inf; a NaN stays NaN (see vmax/vmin above).
inline vec vexp(vec x) {
    constexpr float LOG2E = 1.44269504088896341f;
    constexpr float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    x = vmin(vset1(88.8f), vmax(vset1(-104.0f), x));
    const vec n = vround(vmul(x, vset1(LOG2E)));
    vec r = vfma(n, vset1(-LN2_HI), x);
    r = vfma(n, vset1(-LN2_LO), r);
    vec q = vset1(1.38145988e-3f);
    q = vfma(q, r, vset1(8.36871658e-3f));
    q = vfma(q, r, vset1(4.16683890e-2f));
    q = vfma(q, r, vset1(1.66665211e-1f));
    q = vfma(q, r, vset1(4.99999940e-1f));
    const vec p = vadd(vfma(q, vmul(r, r), r), vset1(1.0f));
    return vldexp(p, n);
}

// A 64-byte aligned float buffer (one cache line, one AVX-512 register) that
// only grows: each thread keeps its own across calls, so steady-state kernels
// never allocate.
struct AlignedBuffer {
    static constexpr std::align_val_t alignment{64};
    struct Free {
        void operator()(float* p) const { ::operator delete[](p, alignment); }
    };
    std::unique_ptr<float, Free> data;
    int64_t size = 0;

    float* get(int64_t n) {
        if (n > size) {
            data.reset();  // free first: peak memory is one buffer, not two
            const auto bytes = static_cast<size_t>(n) * sizeof(float);
            data.reset(static_cast<float*>(::operator new[](bytes, alignment)));
            size = n;
        }
        return data.get();
    }
};

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
constexpr int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

}  // namespace tinytorch::simd
