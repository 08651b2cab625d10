// Python bindings of the activation family (activation.cpp): GELU and its gradient.
// Every argument is checked here, before any kernel touches memory.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

static bool tanh_form(const std::string& approximate, const char* what) {
    if (approximate == "tanh") return true;
    if (approximate == "none") return false;
    throw py::value_error(std::string(what) + ": approximate must be 'none' or 'tanh', got '" +
                          approximate + "'");
}

// float32 in native byte order, C-contiguous and aligned, any shape
static void require_elementwise(const py::array& a, const char* name) {
    require_float32(a, name);
    require_c_contiguous(a, name);
    if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(float) != 0) {
        throw py::value_error(std::string(name) + " is not aligned to 4 bytes (copy it with "
                              "numpy.array(a))");
    }
}

static py::array gelu(const py::array& x, const std::string& approximate) {
    const bool form = tanh_form(approximate, "gelu");
    require_elementwise(x, "x");
    py::array_t<float> y(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    const int64_t n = x.size();
    const float* px = float_data(x);
    float* py_ = y.mutable_data();
    if (n > 0) {
        py::gil_scoped_release release;
        gelu_forward(px, py_, n, form);
    }
    return y;
}

static py::array gelu_grad(const py::array& grad, const py::array& x,
                           const std::string& approximate) {
    const bool form = tanh_form(approximate, "gelu_backward");
    require_elementwise(grad, "grad");
    require_elementwise(x, "x");
    if (grad.ndim() != x.ndim() || !std::equal(x.shape(), x.shape() + x.ndim(), grad.shape())) {
        throw py::value_error("gelu_backward: grad has shape " + shape_str(grad) +
                              " but x has shape " + shape_str(x));
    }
    py::array_t<float> grad_x(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    const int64_t n = x.size();
    const float *pg = float_data(grad), *px = float_data(x);
    float* pgx = grad_x.mutable_data();
    if (n > 0) {
        py::gil_scoped_release release;
        gelu_backward(pg, px, pgx, n, form);
    }
    return grad_x;
}

void bind_activation(py::module_& m) {
    m.def("gelu", &gelu, py::arg("x"), py::arg("approximate"),
          "GELU of a C-contiguous float32 array (any shape), 'none' (erf) or 'tanh', one pass.");
    m.def("gelu_backward", &gelu_grad, py::arg("grad"), py::arg("x"), py::arg("approximate"),
          "grad * d gelu(x) / dx, one pass.");
}

}  // namespace tinytorch::bind
