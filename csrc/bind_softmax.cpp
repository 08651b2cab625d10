#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

using row_kernel = void (*)(const float*, float*, int64_t, int64_t);

static py::array_t<float> rowwise(const py::array& x, row_kernel kernel) {
    require_float32(x, "x");
    require_ndim(x, "x", 2);
    require_c_contiguous(x, "x");
    const int64_t rows = x.shape(0), cols = x.shape(1);
    py::array_t<float> y({rows, cols});
    if (rows * cols == 0) return y;
    const float* px = static_cast<const float*>(x.data());
    float* py_ = y.mutable_data();
    {
        py::gil_scoped_release release;
        kernel(px, py_, rows, cols);
    }
    return y;
}

void bind_softmax(py::module_& m) {
    m.def("softmax", [](const py::array& x) { return rowwise(x, softmax_rows); }, py::arg("x"),
          "Softmax over the last axis of a C-contiguous 2-D float32 array.");
    m.def("log_softmax", [](const py::array& x) { return rowwise(x, log_softmax_rows); },
          py::arg("x"), "Log-softmax over the last axis of a C-contiguous 2-D float32 array.");
}

}  // namespace tinytorch::bind
