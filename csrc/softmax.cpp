// Row-wise softmax, numerically stable: subtracting the row maximum keeps
// exp() from overflowing for large logits without changing the result.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace tinytorch {

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
    for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * cols;
        float* yr = y + r * cols;
        float row_max = -INFINITY;
        for (int64_t c = 0; c < cols; ++c) row_max = std::max(row_max, xr[c]);
        // A row of all -inf (fully masked) has no finite maximum; PyTorch
        // returns NaN there, and so do we, by letting exp(-inf - -inf) = NaN.
        double total = 0.0;
        for (int64_t c = 0; c < cols; ++c) {
            yr[c] = std::exp(xr[c] - row_max);
            total += yr[c];
        }
        const float inv = static_cast<float>(1.0 / total);
        for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
    }
}

void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
    for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * cols;
        float* yr = y + r * cols;
        float row_max = -INFINITY;
        for (int64_t c = 0; c < cols; ++c) row_max = std::max(row_max, xr[c]);
        // The largest term of the sum is exp(0) = 1, so the log never sees 0.
        double total = 0.0;
        for (int64_t c = 0; c < cols; ++c) total += std::exp(xr[c] - row_max);
        const float shift = row_max + static_cast<float>(std::log(total));
        for (int64_t c = 0; c < cols; ++c) yr[c] = xr[c] - shift;
    }
}

}  // namespace tinytorch
