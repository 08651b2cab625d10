// Python bindings of the sparse family (sparse.cpp): CSR x dense.
// Every argument is checked here, before the kernel touches memory: dtypes,
// shapes, and every index (a bad column index would read outside B).
#include <cstdint>
#include <string>

#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

static void require_int32_c(const py::array& a, const char* name) {
    require_dtype(a, name, 'i', 4, "int32");
    require_ndim(a, name, 1);
    require_c_contiguous(a, name);
}

static py::array csr_matmul(const py::array& values, const py::array& col_indices,
                            const py::array& row_ptr, const py::array& b) {
    const std::string what = "csr_matmul";
    require_float32_c(values, "values", 1);
    require_int32_c(col_indices, "col_indices");
    require_int32_c(row_ptr, "row_ptr");
    require_float32_c(b, "b", 2);
    const int64_t nnz = values.shape(0), M = row_ptr.shape(0) - 1;
    const int64_t K = b.shape(0), N = b.shape(1);
    if (M < 0) throw py::value_error(what + ": row_ptr must have M + 1 >= 1 entries, got 0");
    if (col_indices.shape(0) != nnz) {
        throw py::value_error(what + ": values has " + std::to_string(nnz) +
                              " entries but col_indices " + std::to_string(col_indices.shape(0)));
    }
    const auto* ptr = static_cast<const int32_t*>(row_ptr.data());
    const auto* cols = static_cast<const int32_t*>(col_indices.data());
    if (ptr[0] != 0 || ptr[M] != nnz) {
        throw py::value_error(what + ": row_ptr must rise from 0 to nnz=" + std::to_string(nnz) +
                              ", got " + std::to_string(ptr[0]) + " .. " +
                              std::to_string(ptr[M]));
    }
    for (int64_t i = 0; i < M; ++i) {
        if (ptr[i + 1] < ptr[i]) {
            throw py::value_error(what + ": row_ptr must rise from 0 to nnz=" +
                                  std::to_string(nnz) + "; it falls at row " +
                                  std::to_string(i) + " (" + std::to_string(ptr[i]) + " -> " +
                                  std::to_string(ptr[i + 1]) + ")");
        }
    }
    for (int64_t p = 0; p < nnz; ++p) {
        if (cols[p] < 0 || cols[p] >= K) {
            throw py::value_error(what + ": col_indices must lie in [0, " + std::to_string(K) +
                                  ") for b with " + std::to_string(K) + " rows; col_indices[" +
                                  std::to_string(p) + "] = " + std::to_string(cols[p]));
        }
    }
    checked_product({M, N}, what);
    py::array_t<float> c({M, N});
    if (M == 0 || N == 0) return c;
    const float *pv = float_data(values), *pb = float_data(b);
    float* pc = c.mutable_data();
    {
        py::gil_scoped_release release;
        tinytorch::csr_matmul(pv, cols, ptr, M, N, pb, pc);
    }
    return c;
}

void bind_sparse(py::module_& m) {
    m.def("csr_matmul", &csr_matmul, py::arg("values"), py::arg("col_indices"),
          py::arg("row_ptr"), py::arg("b"),
          "C = A @ b for A in CSR (float32 values, int32 col_indices and row_ptr) and a "
          "C-contiguous float32 b: (K, N).");
}

}  // namespace tinytorch::bind
