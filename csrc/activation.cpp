// GELU in one pass (Modules 03 and 15): read x once, write y once.
//
// NumPy spends eight or more whole-array passes on either form of GELU, each a
// round trip to memory; here every element is loaded, turned into y in
// registers (one vector exp does the transcendental work) and stored. The loop
// is memory-bound, so it is split over threads only when the array is large.
#include <cmath>
#include <cstdint>

#include "kernels.h"
#include "simd.h"

namespace tinytorch {
namespace {

using namespace simd;

constexpr float K = 0.7978845608028654f;       // sqrt(2 / pi)
constexpr float C = 0.044715f;
constexpr float INV_SQRT2 = 0.7071067811865476f;
constexpr float INV_SQRT_2PI = 0.3989422804014327f;
// Below this many elements a second thread costs more to start than it saves.
constexpr int64_t PARALLEL_MIN = int64_t(1) << 15;

// tanh form: y = 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = K (x + C x^3), so one
// exp gives it: s = 1 / (1 + e^(-2u)). For u -> -inf e^(-2u) -> inf and s -> 0;
// for u -> +inf s -> 1: no overflow to guard against.
inline vec sigmoid_2u(vec x) {
    const vec u = vmul(vmul(vset1(K), x), vfma(vmul(vset1(C), x), x, vset1(1.0f)));
    const vec e = vexp(vmul(vset1(-2.0f), u));
    return vdiv(vset1(1.0f), vadd(vset1(1.0f), e));
}

// Phi(x) through erfc, so the left tail (x << 0, where Phi is tiny) keeps its
// relative accuracy: Phi(x) = 0.5 erfc(-x / sqrt 2). erfc(z), z >= 0, uses the
// Chebyshev fit t * exp(-z^2 + P(t)), t = 1 / (1 + z/2) (Numerical Recipes,
// fractional error < 1.2e-7 for every z -- float32 precision).
inline vec phi_cdf(vec x) {
    const vec z = vmul(vabs(x), vset1(INV_SQRT2));
    const vec t = vdiv(vset1(1.0f), vfma(vset1(0.5f), z, vset1(1.0f)));
    vec p = vset1(0.17087277f);
    p = vfma(p, t, vset1(-0.82215223f));
    p = vfma(p, t, vset1(1.48851587f));
    p = vfma(p, t, vset1(-1.13520398f));
    p = vfma(p, t, vset1(0.27886807f));
    p = vfma(p, t, vset1(-0.18628806f));
    p = vfma(p, t, vset1(0.09678418f));
    p = vfma(p, t, vset1(0.37409196f));
    p = vfma(p, t, vset1(1.00002368f));
    p = vfma(p, t, vset1(-1.26551223f));
    const vec half_erfc = vmul(vset1(0.5f), vmul(t, vexp(vsub(p, vmul(z, z)))));
    // x < 0: Phi = 0.5 erfc(|x|/sqrt2); x >= 0: Phi = 1 - 0.5 erfc(x/sqrt2); both at once
    // as 0.5 + sign(x) (0.5 - half_erfc)
    const vec half = vset1(0.5f);
    return vfma(vcopysign(vset1(1.0f), x), vsub(half, half_erfc), half);
}

inline vec gelu_vec(vec x, bool tanh_form) {
    return vmul(x, tanh_form ? sigmoid_2u(x) : phi_cdf(x));
}

inline vec gelu_grad_vec(vec g, vec x, bool tanh_form) {
    if (tanh_form) {
        // d/dx [x s(2u)] = s + x * 2 s (1 - s) du/dx, du/dx = K (1 + 3 C x^2)
        const vec s = sigmoid_2u(x);
        const vec du = vmul(vset1(K), vfma(vmul(vset1(3.0f * C), x), x, vset1(1.0f)));
        const vec ds = vmul(vmul(vset1(2.0f), vmul(s, vsub(vset1(1.0f), s))), du);
        return vmul(g, vfma(x, ds, s));
    }
    const vec pdf = vmul(vset1(INV_SQRT_2PI), vexp(vmul(vset1(-0.5f), vmul(x, x))));
    return vmul(g, vfma(x, pdf, phi_cdf(x)));
}

}  // namespace

void gelu_forward(const float* x, float* y, int64_t n, bool tanh_form) {
    const int64_t full = n / VL * VL;
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (int64_t i = 0; i < full; i += VL) vstoreu(y + i, gelu_vec(vloadu(x + i), tanh_form));
    if (full < n) {
        const lane_mask m = vmask(n - full);
        vstore_masked(y + full, gelu_vec(vload_masked(x + full, m), tanh_form), m);
    }
}

void gelu_backward(const float* grad, const float* x, float* grad_x, int64_t n, bool tanh_form) {
    const int64_t full = n / VL * VL;
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (int64_t i = 0; i < full; i += VL)
        vstoreu(grad_x + i, gelu_grad_vec(vloadu(grad + i), vloadu(x + i), tanh_form));
    if (full < n) {
        const lane_mask m = vmask(n - full);
        vstore_masked(grad_x + full,
                      gelu_grad_vec(vload_masked(grad + full, m), vload_masked(x + full, m),
                                    tanh_form), m);
    }
}

}  // namespace tinytorch
