// Python bindings of the matmul family: matmul, bmm and the Module 15 step
// variants. Every argument is checked here, before any kernel touches memory.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

// The Module 15 road, slowest first; `matmul_variant` accepts these names.
constexpr std::array<const char*, 5> MATMUL_VARIANTS = {"naive", "reordered", "blocked",
                                                        "packed_simd", "threaded"};

struct MatmulShape {
    int64_t M, K, N;
};

// a: (M, K) float32, b: (K, N) float32, or a clear TypeError / ValueError.
static MatmulShape check_matmul_operands(const py::array& a, const py::array& b,
                                         const char* op) {
    require_float32(a, "a");
    require_float32(b, "b");
    require_ndim(a, "a", 2);
    require_ndim(b, "b", 2);
    const int64_t M = a.shape(0), K = a.shape(1), N = b.shape(1);
    if (b.shape(0) != K) {
        throw py::value_error(std::string(op) + ": shapes " + shape_str(a) + " and " +
                              shape_str(b) + " cannot be multiplied (" + std::to_string(K) +
                              " != " + std::to_string(b.shape(0)) + ")");
    }
    return {M, K, N};
}

static py::array_t<float> matmul(const py::array& a, const py::array& b) {
    const auto [M, K, N] = check_matmul_operands(a, b, "matmul");
    py::array_t<float> c({M, N});
    if (M == 0 || N == 0) return c;
    if (K == 0) {
        std::fill(c.mutable_data(), c.mutable_data() + M * N, 0.0f);
        return c;
    }
    const MatrixLayout la = matrix_layout(a, "a"), lb = matrix_layout(b, "b");
    const float* pa = static_cast<const float*>(a.data());
    const float* pb = static_cast<const float*>(b.data());
    float* pc = c.mutable_data();
    {
        py::gil_scoped_release release;
        sgemm(la.trans, lb.trans, M, N, K, pa, la.ld, pb, lb.ld, pc, N);
    }
    return c;
}

// An operand as sgemm reads it: x itself when it is aligned and its rows or
// columns are contiguous (C arrays, .T views, row slices), else an aligned
// C-order copy (a[:, ::2], a[::-1], a view at an odd byte offset). Anything
// that is not a 2-D native-order float32 array is passed on for matmul's
// checks to name.
static py::array gemm_readable(const py::array& x) {
    if (x.ndim() != 2 || x.dtype().kind() != 'f' || x.itemsize() != 4 || !native_byte_order(x))
        return x;
    if (is_aligned(x, 4) && find_matrix_layout(x)) return x;
    const int64_t rows = x.shape(0), cols = x.shape(1), s0 = x.strides(0), s1 = x.strides(1);
    py::array_t<float> copy({rows, cols});
    const char* src = static_cast<const char*>(x.data());
    float* dst = copy.mutable_data();
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)  // memcpy: the source may be misaligned
            std::memcpy(dst + r * cols + c, src + r * s0 + c * s1, sizeof(float));
    return copy;
}

// matmul for the backend adapter (backends/linalg/native.py): operands in any
// layout, copied where sgemm cannot read them in place. One call from Python
// instead of a layout check per operand there, which cost more than a whole
// 8 x 8 product (2.0 -> 0.7 us per call).
static py::array_t<float> matmul_any(const py::array& a, const py::array& b) {
    return matmul(gemm_readable(a), gemm_readable(b));
}

static py::array_t<float> bmm(const py::array& a, const py::array& b) {
    require_float32(a, "a");
    require_float32(b, "b");
    require_ndim(a, "a", 3);
    require_ndim(b, "b", 3);
    require_c_contiguous(a, "a");
    require_c_contiguous(b, "b");
    const int64_t batch = a.shape(0), M = a.shape(1), K = a.shape(2), N = b.shape(2);
    if (b.shape(0) != batch || b.shape(1) != K) {
        throw py::value_error("bmm: shapes " + shape_str(a) + " and " + shape_str(b) +
                              " cannot be multiplied (need (B, M, K) @ (B, K, N))");
    }
    py::array_t<float> c({batch, M, N});
    float* pc = c.mutable_data();
    if (batch * M * N == 0) return c;
    if (K == 0) {
        std::fill(pc, pc + batch * M * N, 0.0f);
        return c;
    }
    const float* pa = static_cast<const float*>(a.data());
    const float* pb = static_cast<const float*>(b.data());
    {
        py::gil_scoped_release release;
        sgemm_batched(batch, false, false, M, N, K, pa, M * K, K, pb, K * N, N, pc, M * N, N);
    }
    return c;
}

static py::array_t<float> matmul_variant(const py::array& a, const py::array& b,
                                         const std::string& variant) {
    const auto* found = std::find(MATMUL_VARIANTS.begin(), MATMUL_VARIANTS.end(), variant);
    if (found == MATMUL_VARIANTS.end()) {
        std::string valid;
        for (const char* name : MATMUL_VARIANTS) valid += std::string(valid.empty() ? "" : ", ") +
                                                          "'" + name + "'";
        throw py::value_error("matmul_variant: unknown variant '" + variant + "'; valid: " +
                              valid);
    }
    const auto [M, K, N] = check_matmul_operands(a, b, "matmul_variant");
    if (K == 0) {  // an empty sum: every variant's loops would leave C unwritten
        py::array_t<float> c({M, N});
        std::fill(c.mutable_data(), c.mutable_data() + c.size(), 0.0f);
        return c;
    }
    if (variant == "packed_simd" || variant == "threaded") {
        // The real kernel: reads transposed views in place, like matmul.
        if (variant == "threaded") return matmul(a, b);
        py::array_t<float> c({M, N});
        if (M * N == 0) return c;
        const MatrixLayout la = matrix_layout(a, "a"), lb = matrix_layout(b, "b");
        const float* pa = static_cast<const float*>(a.data());
        const float* pb = static_cast<const float*>(b.data());
        float* pc = c.mutable_data();
        py::gil_scoped_release release;
        sgemm_threads(la.trans, lb.trans, M, N, K, pa, la.ld, pb, lb.ld, pc, N, 1);
        return c;
    }
    // The teaching steps index plain row-major arrays; other layouts are
    // copied once here (already float32, so this is a layout change only).
    using c_array = py::array_t<float, py::array::c_style | py::array::forcecast>;
    const c_array ca = c_array::ensure(a), cb = c_array::ensure(b);
    py::array_t<float> c({M, N});
    if (M * N == 0) return c;
    const float* pa = ca.data();
    const float* pb = cb.data();
    float* pc = c.mutable_data();
    py::gil_scoped_release release;
    if (variant == "naive") {
        matmul_naive(M, N, K, pa, pb, pc);
    } else if (variant == "reordered") {
        matmul_reordered(M, N, K, pa, pb, pc);
    } else {
        matmul_blocked(M, N, K, pa, pb, pc);
    }
    return c;
}

void bind_matmul(py::module_& m) {
    m.def("matmul", &matmul, py::arg("a"), py::arg("b"),
          "C = A @ B for 2-D float32 arrays; A or B may be transposed views (no copy).");
    m.def("bmm", &bmm, py::arg("a"), py::arg("b"),
          "Batched matmul: (B, M, K) @ (B, K, N) -> (B, M, N), C-contiguous float32. "
          "Many small matrices run one per thread; large ones are each split across threads.");
    m.def("matmul_any", &matmul_any, py::arg("a"), py::arg("b"),
          "matmul with operands in any layout: one whose rows and columns are both strided, "
          "or that is misaligned, is copied into an aligned C array first (matmul refuses it).");
    m.def("matmul_variant", &matmul_variant, py::arg("a"), py::arg("b"), py::arg("variant"),
          "C = A @ B computed by one step of Module 15's road to a fast matmul: 'naive' (i-j-k), "
          "'reordered' (i-k-j), 'blocked' (cache tiles), 'packed_simd' (the real kernel on one "
          "thread), 'threaded' (the real kernel on all threads, same as matmul).");
    py::tuple names(MATMUL_VARIANTS.size());
    for (size_t i = 0; i < MATMUL_VARIANTS.size(); ++i) names[i] = MATMUL_VARIANTS[i];
    m.attr("MATMUL_VARIANTS") = names;
}

}  // namespace tinytorch::bind
