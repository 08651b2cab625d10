// Layer normalisation over the rows of x: (M, D), forward and backward (Module 14).
//
// Memory-bound: per element the forward does ~5 FLOPs for 8 bytes moved, so
// the whole game is to touch x once from DRAM/L3. A row (D floats: 512 B at
// D = 128) stays in L1 between the passes over it, so the three passes of
// the forward (mean, variance, output) cost one trip to memory.
//
// Numerics. The variance is the corrected two-pass formula
//     c = mean in float,  var = sum (x - c)^2 / D - (sum (x - c) / D)^2
// which never subtracts two large numbers (E[x^2] - E[x]^2 loses all digits
// when |mean| >> std: the offset-100 conformance case), and whose second term
// repairs the rounding of c. Sums are taken in float vectors over chunks of
// SUM_CHUNK elements (<= 16 terms per lane with AVX-512, 32 with AVX2) and
// each chunk's total is added in double, so the error stays at a few float
// roundings however long the row is. The backward's column sums over M rows
// (grad_weight, grad_bias) are float vectors over ROW_BLOCK rows, then double.
//
// Threads: rows are independent. grad_weight / grad_bias sum over rows, so
// every thread owns a private partial (D doubles each) and the partials are
// added once at the end in a fixed order: no atomics, and the same thread
// count gives the same bits.
#include <algorithm>
#include <cmath>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"
#include "simd.h"

namespace tinytorch {
namespace {

using namespace simd;

// Elements summed in float vector lanes before the partial moves to double:
// 4 accumulators x VL lanes see at most SUM_CHUNK / (4 VL) terms each, so the
// float error per chunk stays near 16-32 roundings (6e-8 each).
constexpr int64_t SUM_CHUNK = 1024;
// Rows whose grad_weight / grad_bias contributions are summed in float before
// going to the thread's double partial: the float partials (2 x D floats,
// 3 KiB at D = 384) stay in L1 and the double update costs 1/32 per row.
constexpr int64_t ROW_BLOCK = 32;
// Rows * D below which one thread does it all (~10 us of work).
constexpr int64_t MIN_THREADED_ELEMENTS = int64_t(1) << 15;

inline vec load_tail(const float* p, int64_t n) {
    return n >= VL ? vloadu(p) : vload_masked(p, vmask(n));
}
inline void store_tail(float* p, vec v, int64_t n) {
    if (n >= VL) vstoreu(p, v);
    else vstore_masked(p, v, vmask(n));
}

// Two sums over one row at once, sum_i f(i) and sum_i g(i), where f and g give
// the vector of VL terms starting at element i (zero past n): float vectors
// inside a chunk, double across chunks.
template <class Terms>
void row_sums(int64_t n, Terms terms, double& total_f, double& total_g) {
    total_f = total_g = 0.0;
    for (int64_t c0 = 0; c0 < n; c0 += SUM_CHUNK) {
        const int64_t c1 = std::min(n, c0 + SUM_CHUNK);
        vec f0 = vzero(), f1 = vzero(), g0 = vzero(), g1 = vzero();
        int64_t i = c0;
        for (; i + 2 * VL <= c1; i += 2 * VL) {
            vec a, b;
            terms(i, VL, a, b);
            f0 = vadd(f0, a);
            g0 = vadd(g0, b);
            terms(i + VL, VL, a, b);
            f1 = vadd(f1, a);
            g1 = vadd(g1, b);
        }
        for (; i < c1; i += VL) {
            vec a, b;
            terms(i, c1 - i, a, b);
            f0 = vadd(f0, a);
            g0 = vadd(g0, b);
        }
        total_f += static_cast<double>(vreduce_add(vadd(f0, f1)));
        total_g += static_cast<double>(vreduce_add(vadd(g0, g1)));
    }
}

// [r0, r1): rows of thread t of n threads
inline void thread_rows(int64_t M, int t, int n, int64_t& r0, int64_t& r1) {
    r0 = M * t / n;
    r1 = M * (t + 1) / n;
}

int threads_for(int64_t M, int64_t D) {
    return M * D > MIN_THREADED_ELEMENTS ? std::max(1, get_num_threads()) : 1;
}

void forward_rows(const float* x, const float* weight, const float* bias, float eps, int64_t D,
                  int64_t r0, int64_t r1, float* y, float* mean, float* rstd) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * D;
        float* yr = y + r * D;
        double sum, unused;
        row_sums(D, [&](int64_t i, int64_t n, vec& a, vec& b) {
            a = load_tail(xr + i, n);
            b = a;
        }, sum, unused);
        const float c = static_cast<float>(sum / D);
        const vec cv = vset1(c);
        double dev, dev2;
        row_sums(D, [&](int64_t i, int64_t n, vec& a, vec& b) {
            // masked lanes load 0, so they must not become 0 - c: select them out
            const vec t = vselect(vmask(n), vsub(load_tail(xr + i, n), cv), vzero());
            a = t;
            b = vmul(t, t);
        }, dev, dev2);
        const double mu = dev / D;
        const double var = std::max(dev2 / D - mu * mu, 0.0);
        const float m = static_cast<float>(c + mu);
        const float s = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
        mean[r] = m;
        rstd[r] = s;
        const vec mv = vset1(m), sv = vset1(s);
        for (int64_t i = 0; i < D; i += VL) {
            const int64_t n = D - i;
            vec t = vmul(vsub(load_tail(xr + i, n), mv), sv);
            if (weight) t = vmul(t, load_tail(weight + i, n));
            if (bias) t = vadd(t, load_tail(bias + i, n));
            store_tail(yr + i, t, n);
        }
    }
}

}  // namespace

void layer_norm_forward(const float* x, const float* weight, const float* bias, float eps,
                        int64_t M, int64_t D, float* y, float* mean, float* rstd) {
    const int threads = threads_for(M, D);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        int t = 0, n = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        n = omp_get_num_threads();
#endif
        int64_t r0, r1;
        thread_rows(M, t, n, r0, r1);
        forward_rows(x, weight, bias, eps, D, r0, r1, y, mean, rstd);
    }
}

namespace {

// grad_x of rows [r0, r1); with a weight also adds their grad_weight / grad_bias
// terms into dw, db (D doubles each, this thread's partials).
void backward_rows(const float* grad_y, const float* x, const float* weight, const float* mean,
                   const float* rstd, int64_t D, int64_t r0, int64_t r1, float* grad_x,
                   double* dw, double* db, float* fw, float* fb) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* gy = grad_y + r * D;
        const float* xr = x + r * D;
        const vec mv = vset1(mean[r]), sv = vset1(rstd[r]);
        const bool flush = weight && ((r - r0) % ROW_BLOCK == ROW_BLOCK - 1 || r == r1 - 1);
        if (weight && (r - r0) % ROW_BLOCK == 0) {
            std::fill(fw, fw + D, 0.0f);
            std::fill(fb, fb + D, 0.0f);
        }
        double sum_g, sum_gx;
        row_sums(D, [&](int64_t i, int64_t n, vec& a, vec& b) {
            const vec g0 = load_tail(gy + i, n);
            // masked lanes: x = 0 gives xhat = -mean * rstd, but g = 0 there
            const vec xhat = vmul(vsub(load_tail(xr + i, n), mv), sv);
            const vec g = weight ? vmul(g0, load_tail(weight + i, n)) : g0;
            a = g;
            b = vmul(g, xhat);
            if (weight) {
                store_tail(fw + i, vfma(g0, xhat, load_tail(fw + i, n)), n);
                store_tail(fb + i, vadd(g0, load_tail(fb + i, n)), n);
            }
        }, sum_g, sum_gx);
        const vec mean_g = vset1(static_cast<float>(sum_g / D));
        const vec mean_gx = vset1(static_cast<float>(sum_gx / D));
        float* gx = grad_x + r * D;
        for (int64_t i = 0; i < D; i += VL) {
            const int64_t n = D - i;
            const vec xhat = vmul(vsub(load_tail(xr + i, n), mv), sv);
            vec g = load_tail(gy + i, n);
            if (weight) g = vmul(g, load_tail(weight + i, n));
            // rstd * (g - mean(g) - xhat * mean(g xhat))
            const vec t = vsub(vsub(g, mean_g), vmul(xhat, mean_gx));
            store_tail(gx + i, vmul(sv, t), n);
        }
        if (flush) {
            for (int64_t i = 0; i < D; ++i) {
                dw[i] += fw[i];
                db[i] += fb[i];
            }
        }
    }
}

}  // namespace

void layer_norm_backward(const float* grad_y, const float* x, const float* weight,
                         const float* mean, const float* rstd, int64_t M, int64_t D,
                         float* grad_x, float* grad_weight, float* grad_bias) {
    const int threads = threads_for(M, D);
    const int64_t parts = weight ? threads : 0;
    std::vector<double> dw(parts * D, 0.0), db(parts * D, 0.0);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        int t = 0, n = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        n = omp_get_num_threads();
#endif
        int64_t r0, r1;
        thread_rows(M, t, n, r0, r1);
        thread_local AlignedBuffer block;
        float* fw = weight ? block.get(2 * D) : nullptr;
        backward_rows(grad_y, x, weight, mean, rstd, D, r0, r1, grad_x,
                      weight ? dw.data() + t * D : nullptr, weight ? db.data() + t * D : nullptr,
                      fw, fw ? fw + D : nullptr);
    }
    if (!weight) return;
    for (int64_t i = 0; i < D; ++i) {
        double w = 0.0, b = 0.0;
        for (int64_t t = 0; t < parts; ++t) {
            w += dw[t * D + i];
            b += db[t * D + i];
        }
        grad_weight[i] = static_cast<float>(w);
        grad_bias[i] = static_cast<float>(b);
    }
}

}  // namespace tinytorch
