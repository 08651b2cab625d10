// Python bindings of the norm family (norm.cpp): layer_norm and its backward.
// Every argument is checked here, before any kernel touches memory.
#include <algorithm>

#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

// weight / bias: None, or float32 (D,) C-contiguous; returns the data pointer or nullptr.
static const float* optional_vector(const std::optional<py::array>& a, const char* name,
                                    int64_t D, const std::string& what) {
    if (!a) return nullptr;
    require_float32_c(*a, name, 1);
    if (a->shape(0) != D) {
        throw py::value_error(what + ": " + name + " must have shape (" + std::to_string(D) +
                              ",) to match x's last dimension, got " + shape_str(*a));
    }
    return float_data(*a);
}

static py::tuple layer_norm(const py::array& x, const py::object& weight_obj,
                            const py::object& bias_obj, double eps) {
    const std::string what = "layer_norm";
    require_float32_c(x, "x", 2);
    const int64_t M = x.shape(0), D = x.shape(1);
    const auto weight = optional_array(weight_obj, "weight");
    const auto bias = optional_array(bias_obj, "bias");
    const float* pw = optional_vector(weight, "weight", D, what);
    const float* pb = optional_vector(bias, "bias", D, what);
    py::array_t<float> y({M, D}), mean(M), rstd(M);
    if (M == 0) return py::make_tuple(y, mean, rstd);
    const float* px = float_data(x);
    float *py_ = y.mutable_data(), *pm = mean.mutable_data(), *ps = rstd.mutable_data();
    const float feps = static_cast<float>(eps);
    {
        py::gil_scoped_release release;
        layer_norm_forward(px, pw, pb, feps, M, D, py_, pm, ps);
    }
    return py::make_tuple(y, mean, rstd);
}

static void require_rows(const py::array& a, const char* name, int64_t M,
                         const std::string& what) {
    require_float32_c(a, name, 1);
    if (a.shape(0) != M) {
        throw py::value_error(what + ": " + name + " must have shape (" + std::to_string(M) +
                              ",), one value per row of x, got " + shape_str(a));
    }
}

static py::tuple layer_norm_backward(const py::array& grad_y, const py::array& x,
                                     const py::object& weight_obj, const py::array& mean,
                                     const py::array& rstd) {
    const std::string what = "layer_norm_backward";
    require_float32_c(grad_y, "grad_y", 2);
    require_float32_c(x, "x", 2);
    const int64_t M = x.shape(0), D = x.shape(1);
    if (grad_y.shape(0) != M || grad_y.shape(1) != D) {
        throw py::value_error(what + ": grad_y has shape " + shape_str(grad_y) +
                              " but x has shape " + shape_str(x));
    }
    const auto weight = optional_array(weight_obj, "weight");
    const float* pw = optional_vector(weight, "weight", D, what);
    require_rows(mean, "mean", M, what);
    require_rows(rstd, "rstd", M, what);
    py::array_t<float> grad_x({M, D});
    py::object grad_w = py::none(), grad_b = py::none();
    float *pgw = nullptr, *pgb = nullptr;
    if (pw) {
        py::array_t<float> gw(D), gb(D);
        pgw = gw.mutable_data();
        pgb = gb.mutable_data();
        grad_w = gw;
        grad_b = gb;
    }
    if (M == 0 || D == 0) {  // no rows: the sums over rows are zero
        if (pw) {
            std::fill(pgw, pgw + D, 0.0f);
            std::fill(pgb, pgb + D, 0.0f);
        }
        return py::make_tuple(grad_x, grad_w, grad_b);
    }
    const float *pg = float_data(grad_y), *px = float_data(x);
    const float *pm = float_data(mean), *ps = float_data(rstd);
    float* pgx = grad_x.mutable_data();
    {
        py::gil_scoped_release release;
        tinytorch::layer_norm_backward(pg, px, pw, pm, ps, M, D, pgx, pgw, pgb);
    }
    return py::make_tuple(grad_x, grad_w, grad_b);
}

void bind_norm(py::module_& m) {
    m.def("layer_norm", &layer_norm, py::arg("x"), py::arg("weight"), py::arg("bias"),
          py::arg("eps"),
          "Layer norm over the rows of a C-contiguous float32 x: (M, D); weight, bias: (D,) or "
          "None. Returns (y, mean, rstd).");
    m.def("layer_norm_backward", &layer_norm_backward, py::arg("grad_y"), py::arg("x"),
          py::arg("weight"), py::arg("mean"), py::arg("rstd"),
          "Gradients of layer_norm: (grad_x, grad_weight, grad_bias); the last two are None "
          "when weight is None.");
}

}  // namespace tinytorch::bind
