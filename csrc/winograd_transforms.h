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
inline void split_row(const float* xc, const Conv2dShape& s, int64_t ih, int64_t n,
                      float* __restrict even, float* __restrict odd) {
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

// The arithmetic of both transforms, once for a float (one block) and once for a
// vector (VL blocks side by side): the same adds and subtracts either way.
inline float add(float a, float b) { return a + b; }
inline float sub(float a, float b) { return a - b; }
inline simd::vec add(simd::vec a, simd::vec b) { return simd::vadd(a, b); }
inline simd::vec sub(simd::vec a, simd::vec b) { return simd::vsub(a, b); }

// V = B^T d B of a 4x4 block: d(r, k) gives d[r][k], v(xi, value) takes V[xi]
// (xi = 4*row + column).
template <class T, class D, class Out>
inline void input_block(D d, Out v) {
    T t[4][4];  // t = B^T d: combine the four rows, column by column
    for (int k = 0; k < 4; ++k) {
        const T d0 = d(0, k), d1 = d(1, k), d2 = d(2, k), d3 = d(3, k);
        t[0][k] = sub(d0, d2);
        t[1][k] = add(d1, d2);
        t[2][k] = sub(d2, d1);
        t[3][k] = sub(d1, d3);
    }
    for (int r = 0; r < 4; ++r) {  // V = t B: the same combination along each row
        v(4 * r + 0, sub(t[r][0], t[r][2]));
        v(4 * r + 1, add(t[r][1], t[r][2]));
        v(4 * r + 2, sub(t[r][2], t[r][1]));
        v(4 * r + 3, sub(t[r][1], t[r][3]));
    }
}

// Y = A^T M A of a 4x4 block: m(xi) gives M[xi]; y[r][c] receives the 2x2 outputs.
template <class T, class M>
inline void output_block(M m, T y[2][2]) {
    T s[2][4];  // s = A^T M: combine the four rows
    for (int k = 0; k < 4; ++k) {
        const T m0 = m(k), m1 = m(4 + k), m2 = m(8 + k), m3 = m(12 + k);
        s[0][k] = add(add(m0, m1), m2);
        s[1][k] = sub(sub(m1, m2), m3);
    }
    for (int r = 0; r < 2; ++r) {
        y[r][0] = add(add(s[r][0], s[r][1]), s[r][2]);
        y[r][1] = sub(sub(s[r][1], s[r][2]), s[r][3]);
    }
}

// V = B^T d B for blocks j in [j0, j1) of one block row and channel: d[r][k] =
// padded row r, column 2j + k, from the split rows e[r], o[r]. dst[xi*xi_stride
// + (j - j0)] receives V[xi].
inline void input_transform(const float* const* e, const float* const* o, int64_t j0, int64_t j1,
                            float* __restrict dst, int64_t xi_stride) {
    // column k of block j: e[r][j], o[r][j], e[r][j + 1], o[r][j + 1]
    auto at = [&](int r, int k, int64_t j) { return (k % 2 ? o[r] : e[r]) + j + k / 2; };
    const int64_t n = j1 - j0;
    int64_t i = 0;
    for (; i + VL <= n; i += VL)  // VL blocks at once
        input_block<simd::vec>(
            [&](int r, int k) { return simd::vloadu(at(r, k, j0 + i)); },
            [&](int xi, simd::vec v) { simd::vstoreu(dst + xi * xi_stride + i, v); });
    for (; i < n; ++i)  // the rest one block at a time
        input_block<float>([&](int r, int k) { return *at(r, k, j0 + i); },
                           [&](int xi, float v) { dst[xi * xi_stride + i] = v; });
}

// Y = A^T M A for blocks u in [0, n) of one filter: m[xi*xi_stride + u] holds
// M[xi]; the 2x2 outputs go to y0[2u], y0[2u+1] (top row) and y1[...] (bottom),
// with `cols` (2n or 2n - 1) output columns and y1 == nullptr when the bottom
// row is past the image.
inline void output_transform(const float* __restrict m, int64_t xi_stride, int64_t n, int64_t cols,
                             float* __restrict y0, float* __restrict y1) {
    float* rows[2] = {y0, y1};
    const int64_t full = cols / 2;  // blocks with both columns inside the image
    int64_t u = 0;
    for (; u + VL <= full; u += VL) {  // VL blocks at once, pairs interleaved on the way out
        simd::vec y[2][2];
        output_block<simd::vec>([&](int xi) { return simd::vloadu(m + xi * xi_stride + u); }, y);
        for (int r = 0; r < 2 && rows[r]; ++r) {
            simd::vec lo, hi;
            simd::vinterleave(y[r][0], y[r][1], lo, hi);
            simd::vstoreu(rows[r] + 2 * u, lo);
            simd::vstoreu(rows[r] + 2 * u + VL, hi);
        }
    }
    for (; u < n; ++u) {  // the rest one block at a time; an odd last column stays out
        float y[2][2];
        output_block<float>([&](int xi) { return m[xi * xi_stride + u]; }, y);
        for (int r = 0; r < 2 && rows[r]; ++r) {
            rows[r][2 * u] = y[r][0];
            if (2 * u + 1 < cols) rows[r][2 * u + 1] = y[r][1];
        }
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
