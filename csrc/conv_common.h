// Small helpers shared by the convolution kernels (conv.cpp, conv_direct.cpp).
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"
#include "simd.h"

namespace tinytorch {
namespace conv_detail {

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

// Below this many multiply-adds a call runs on one thread: waking the
// OpenMP team costs a few microseconds.
constexpr int64_t MIN_PARALLEL_WORK = int64_t{1} << 18;

using simd::ceil_div;

// Threads for `work` multiply-adds split into `items` independent pieces.
inline int team_size(int64_t work, int64_t items) {
    const int64_t by_work = std::max<int64_t>(1, work / MIN_PARALLEL_WORK);
    return static_cast<int>(std::clamp<int64_t>(std::min(by_work, items), 1, get_num_threads()));
}

// This thread's number in the OpenMP team (0 outside one).
inline int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// grad_w (F, K) = the sum of `threads` private grad_w^T (K, F) copies in
// `partial` (the weight gradients of conv.cpp and conv_wgrad.cpp).
inline void sum_transposed(float* partial, int threads, int64_t K, int64_t F, float* grad_w) {
    for (int t = 1; t < threads; ++t) add_floats(partial, partial + t * K * F, K * F);
    for (int64_t k = 0; k < K; ++k)
        for (int64_t f = 0; f < F; ++f) grad_w[f * K + k] = partial[k * F + f];
}

// The zero-padded slab of one image (the direct convolution and the direct
// weight gradient read their taps from it): rows ih = ih0 + r (r < R) of every
// channel, each Wp = W + 2*pad_w wide, channel c at xp + c*plane, followed by
// VL zeros for the loads past the last row.
inline void fill_slab(const float* xn, const Conv2dShape& s, int64_t ih0, int64_t R,
                      int64_t plane, float* xp) {
    const int64_t Wp = s.W + 2 * s.pad_w;
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
    zero_floats(xp + s.C * plane, simd::VL);
}

}  // namespace conv_detail
}  // namespace tinytorch
