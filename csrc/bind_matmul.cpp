#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

static py::array_t<float> matmul(const py::array& a, const py::array& b) {
    require_float32(a, "a");
    require_float32(b, "b");
    require_ndim(a, "a", 2);
    require_ndim(b, "b", 2);
    const int64_t M = a.shape(0), K = a.shape(1), N = b.shape(1);
    if (b.shape(0) != K) {
        throw py::value_error("matmul: shapes " + shape_str(a) + " and " + shape_str(b) +
                              " cannot be multiplied (" + std::to_string(K) + " != " +
                              std::to_string(b.shape(0)) + ")");
    }
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
        for (int64_t i = 0; i < batch; ++i) {
            sgemm(false, false, M, N, K, pa + i * M * K, K, pb + i * K * N, N, pc + i * M * N, N);
        }
    }
    return c;
}

void bind_matmul(py::module_& m) {
    m.def("matmul", &matmul, py::arg("a"), py::arg("b"),
          "C = A @ B for 2-D float32 arrays; A or B may be transposed views (no copy).");
    m.def("bmm", &bmm, py::arg("a"), py::arg("b"),
          "Batched matmul: (B, M, K) @ (B, K, N) -> (B, M, N), C-contiguous float32.");
}

}  // namespace tinytorch::bind
