#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

static py::array_t<float> softmax(const py::array& x) {
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
        softmax_rows(px, py_, rows, cols);
    }
    return y;
}

void bind_softmax(py::module_& m) {
    m.def("softmax", &softmax, py::arg("x"),
          "Softmax over the last axis of a C-contiguous 2-D float32 array.");
}

}  // namespace tinytorch::bind
