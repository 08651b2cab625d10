// The four transforms of Winograd F(2x2, 3x3) (conv_winograd.cpp): splitting a
// padded input row into even and odd columns, V = B^T d B, Y = A^T M A and
// U = G g G^T, each on whole vectors of blocks with a scalar rest.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels.h"
#include "simd.h"

namespace tinytorch {
namespace winograd {

using simd::VL;

// Row `ih` of channel plane `xc` (H x W), zero-padded by pad_w on the left and
// as far as needed on the right, split into its even and odd columns:
// even[j] = padded[2j], odd[j] = padded[2j + 1], for j < n.
inline void split_row(const float* xc, const Conv2dShape& s, int64_t ih, int64_t n, float* __restrict even,
               float* __restrict odd) {
    if (ih < 0 || ih >= s.H) {
        std::fill(even, even + n, 0.0f);
        std::fill(odd, odd + n, 0.0f);
        return;
    }
    const float* row = xc + ih * s.W;
    // padded[q] = row[q - pad_w] for 0 <= q - pad_w < W
    auto value = [&](int64_t q) {
        const int64_t iw = q - s.pad_w;
        return iw >= 0 && iw < s.W ? row[iw] : 0.0f;
    };
    // Interior: both 2j - pad_w and 2j + 1 - pad_w inside the row.
    const int64_t lo = std::min(n, (s.pad_w + 1) / 2);
    const int64_t hi = std::max(lo, std::min(n, (s.W + s.pad_w) / 2));
    for (int64_t j = 0; j < lo; ++j) even[j] = value(2 * j), odd[j] = value(2 * j + 1);
    const float* __restrict src = row - s.pad_w;  // src[2j] = padded[2j] in the interior
    int64_t q = lo;
    for (; q + VL <= hi; q += VL) {
        simd::vec e, o;
        simd::vdeinterleave(simd::vloadu(src + 2 * q), simd::vloadu(src + 2 * q + VL), e, o);
        simd::vstoreu(even + q, e);
        simd::vstoreu(odd + q, o);
    }
    for (int64_t j = q; j < hi; ++j) {
        even[j] = src[2 * j];
        odd[j] = src[2 * j + 1];
    }
    for (int64_t j = hi; j < n; ++j) even[j] = value(2 * j), odd[j] = value(2 * j + 1);
}

// V = B^T d B for blocks j in [j0, j1) of one block row and channel: d[r][k] =
// padded row r, column 2j + k, from the split rows e[r], o[r]. dst[xi*xi_stride
// + (j - j0)] receives V[xi] (xi = 4*row + column of the 4x4 block).
inline void input_transform(const float* const* e, const float* const* o, int64_t j0, int64_t j1,
                     float* __restrict dst, int64_t xi_stride) {
    const float *__restrict e0 = e[0], *__restrict e1 = e[1], *__restrict e2 = e[2],
                *__restrict e3 = e[3];
    const float *__restrict o0 = o[0], *__restrict o1 = o[1], *__restrict o2 = o[2],
                *__restrict o3 = o[3];
    using simd::vadd;
    using simd::vloadu;
    using simd::vsub;
    const int64_t n = j1 - j0;
    int64_t i = 0;
    for (; i + VL <= n; i += VL) {  // VL blocks at once: the same arithmetic on vectors
        const int64_t j = j0 + i;
        const float* er[4] = {e0, e1, e2, e3};
        const float* orr[4] = {o0, o1, o2, o3};
        simd::vec d[4][4];
        for (int r = 0; r < 4; ++r) {
            d[r][0] = vloadu(er[r] + j);
            d[r][1] = vloadu(orr[r] + j);
            d[r][2] = vloadu(er[r] + j + 1);
            d[r][3] = vloadu(orr[r] + j + 1);
        }
        simd::vec t[4][4];
        for (int k = 0; k < 4; ++k) {
            t[0][k] = vsub(d[0][k], d[2][k]);
            t[1][k] = vadd(d[1][k], d[2][k]);
            t[2][k] = vsub(d[2][k], d[1][k]);
            t[3][k] = vsub(d[1][k], d[3][k]);
        }
        for (int r = 0; r < 4; ++r) {
            simd::vstoreu(dst + (4 * r + 0) * xi_stride + i, vsub(t[r][0], t[r][2]));
            simd::vstoreu(dst + (4 * r + 1) * xi_stride + i, vadd(t[r][1], t[r][2]));
            simd::vstoreu(dst + (4 * r + 2) * xi_stride + i, vsub(t[r][2], t[r][1]));
            simd::vstoreu(dst + (4 * r + 3) * xi_stride + i, vsub(t[r][1], t[r][3]));
        }
    }
    for (; i < n; ++i) {  // the rest one block at a time
        const int64_t j = j0 + i;
        // t = B^T d: combine the four rows, column by column
        float t[4][4];
        const float d0[4] = {e0[j], o0[j], e0[j + 1], o0[j + 1]};
        const float d1[4] = {e1[j], o1[j], e1[j + 1], o1[j + 1]};
        const float d2[4] = {e2[j], o2[j], e2[j + 1], o2[j + 1]};
        const float d3[4] = {e3[j], o3[j], e3[j + 1], o3[j + 1]};
        for (int k = 0; k < 4; ++k) {
            t[0][k] = d0[k] - d2[k];
            t[1][k] = d1[k] + d2[k];
            t[2][k] = d2[k] - d1[k];
            t[3][k] = d1[k] - d3[k];
        }
        // V = t B: the same combination along each row
        for (int r = 0; r < 4; ++r) {
            dst[(4 * r + 0) * xi_stride + i] = t[r][0] - t[r][2];
            dst[(4 * r + 1) * xi_stride + i] = t[r][1] + t[r][2];
            dst[(4 * r + 2) * xi_stride + i] = t[r][2] - t[r][1];
            dst[(4 * r + 3) * xi_stride + i] = t[r][1] - t[r][3];
        }
    }
}

// Y = A^T M A for blocks u in [0, n) of one filter: m[xi*xi_stride + u] holds
// M[xi]; the 2x2 outputs go to y0[2u], y0[2u+1] (top row) and y1[...] (bottom),
// with `cols` (2n or 2n - 1) output columns and y1 == nullptr when the bottom
// row is past the image.
inline void output_transform(const float* __restrict m, int64_t xi_stride, int64_t n, int64_t cols,
                      float* __restrict y0, float* __restrict y1) {
    auto block = [&](int64_t u, float out[2][2]) {
        float s[2][4];  // s = A^T M: combine the four rows
        for (int k = 0; k < 4; ++k) {
            const float m0 = m[k * xi_stride + u], m1 = m[(4 + k) * xi_stride + u];
            const float m2 = m[(8 + k) * xi_stride + u], m3 = m[(12 + k) * xi_stride + u];
            s[0][k] = m0 + m1 + m2;
            s[1][k] = m1 - m2 - m3;
        }
        for (int r = 0; r < 2; ++r) {
            out[r][0] = s[r][0] + s[r][1] + s[r][2];
            out[r][1] = s[r][1] - s[r][2] - s[r][3];
        }
    };
    const int64_t full = cols / 2;  // blocks with both columns inside the image
    using simd::vadd;
    using simd::vsub;
    int64_t u0 = 0;
    for (; u0 + VL <= full; u0 += VL) {  // VL blocks at once, pairs interleaved on the way out
        simd::vec sv[2][4];
        for (int k = 0; k < 4; ++k) {
            const simd::vec m0 = simd::vloadu(m + k * xi_stride + u0);
            const simd::vec m1 = simd::vloadu(m + (4 + k) * xi_stride + u0);
            const simd::vec m2 = simd::vloadu(m + (8 + k) * xi_stride + u0);
            const simd::vec m3 = simd::vloadu(m + (12 + k) * xi_stride + u0);
            sv[0][k] = vadd(vadd(m0, m1), m2);
            sv[1][k] = vsub(vsub(m1, m2), m3);
        }
        for (int r = 0; r < 2; ++r) {
            float* yr = r == 0 ? y0 : y1;
            if (!yr) break;
            const simd::vec left = vadd(vadd(sv[r][0], sv[r][1]), sv[r][2]);
            const simd::vec right = vsub(vsub(sv[r][1], sv[r][2]), sv[r][3]);
            simd::vec lo, hi;
            simd::vinterleave(left, right, lo, hi);
            simd::vstoreu(yr + 2 * u0, lo);
            simd::vstoreu(yr + 2 * u0 + VL, hi);
        }
    }
    if (y1) {
        for (int64_t u = u0; u < full; ++u) {
            float out[2][2];
            block(u, out);
            y0[2 * u] = out[0][0];
            y0[2 * u + 1] = out[0][1];
            y1[2 * u] = out[1][0];
            y1[2 * u + 1] = out[1][1];
        }
    } else {
        for (int64_t u = u0; u < full; ++u) {
            float out[2][2];
            block(u, out);
            y0[2 * u] = out[0][0];
            y0[2 * u + 1] = out[0][1];
        }
    }
    if (full < n) {  // an odd number of columns: the last block's left column only
        float out[2][2];
        block(full, out);
        y0[2 * full] = out[0][0];
        if (y1) y1[2 * full] = out[1][0];
    }
}

// U = G g G^T of one 3x3 filter slice g (row-major): 16 values, xi = 4*row + column.
inline void weight_transform(const float* g, float u[16]) {
    float t[4][3];  // t = G g
    for (int k = 0; k < 3; ++k) {
        const float g0 = g[k], g1 = g[3 + k], g2 = g[6 + k];
        t[0][k] = g0;
        t[1][k] = 0.5f * (g0 + g1 + g2);
        t[2][k] = 0.5f * (g0 - g1 + g2);
        t[3][k] = g2;
    }
    for (int r = 0; r < 4; ++r) {  // U = t G^T
        u[4 * r + 0] = t[r][0];
        u[4 * r + 1] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
        u[4 * r + 2] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
        u[4 * r + 3] = t[r][2];
    }
}

}  // namespace winograd
}  // namespace tinytorch
