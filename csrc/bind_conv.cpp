// Python bindings for the Module 08 spatial kernels (conv.cpp, pool.cpp).
//
// Everything a kernel assumes is checked here first -- dtype float32, 4-D,
// C-contiguous, sane stride/padding/dilation, an output of at least 1x1,
// matching channels -- so the kernels can index raw memory without checks.
// The Python adapter (backends/native.py) normally validates first with the
// same wording (backends/_conv_shapes.py); these checks guard direct calls.
#include <pybind11/stl.h>

#include <algorithm>
#include <array>

#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

static std::string pair_str(const Pair& p) {
    return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")";
}

static void require_spatial(const py::array& a, const char* name) {
    require_float32(a, name);
    require_ndim(a, name, 4);
    require_c_contiguous(a, name);
}

// Declared in bind_common.h (QuantizedConv2d's binding checks with it too).
Conv2dShape conv2d_geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t F, int64_t KH,
                            int64_t KW, const Pair& stride, const Pair& padding,
                            const Pair& dilation, const std::string& what) {
    const Pair kernel{KH, KW};
    if (std::min(KH, KW) < 1)
        throw py::value_error(what + ": kernel size must be >= 1, got " + pair_str(kernel));
    if (std::min(stride[0], stride[1]) < 1)
        throw py::value_error(what + ": stride must be >= 1, got " + pair_str(stride));
    if (std::min(padding[0], padding[1]) < 0)
        throw py::value_error(what + ": padding must be >= 0, got " + pair_str(padding));
    if (std::min(dilation[0], dilation[1]) < 1)
        throw py::value_error(what + ": dilation must be >= 1, got " + pair_str(dilation));
    // PyTorch rejects an empty plane even when the padding alone would give an output.
    if (std::min(H, W) < 1)
        throw py::value_error(what + ": input height and width must be >= 1, got " +
                              pair_str({H, W}));
    // The padded input and the dilated kernel extent bound every index the
    // kernels compute; if either overflows int64 the index arithmetic wraps.
    int64_t padded_h, padded_w, extent_h, extent_w;
    if (__builtin_mul_overflow(padding[0], int64_t{2}, &padded_h) ||
        __builtin_add_overflow(padded_h, H, &padded_h) ||
        __builtin_mul_overflow(padding[1], int64_t{2}, &padded_w) ||
        __builtin_add_overflow(padded_w, W, &padded_w) ||
        __builtin_mul_overflow(dilation[0], KH - 1, &extent_h) ||
        __builtin_mul_overflow(dilation[1], KW - 1, &extent_w)) {
        throw py::value_error(what + ": input size " + pair_str({H, W}) + ", padding " +
                              pair_str(padding) + ", kernel " + pair_str(kernel) +
                              " and dilation " + pair_str(dilation) + " overflow int64");
    }
    const int64_t span_h = padded_h - extent_h - 1;
    const int64_t span_w = padded_w - extent_w - 1;
    if (span_h < 0 || span_w < 0) {
        throw py::value_error(what + ": kernel " + pair_str(kernel) + " with dilation " +
                              pair_str(dilation) + " is larger than the padded input " +
                              pair_str({H + 2 * padding[0], W + 2 * padding[1]}));
    }
    Conv2dShape s{N, C, H, W, F, KH, KW, span_h / stride[0] + 1, span_w / stride[1] + 1,
                  stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1]};
    return s;
}

static void require_grad_out(const py::array& grad_out, const Conv2dShape& s,
                             const std::string& what) {
    if (grad_out.shape(2) != s.OH || grad_out.shape(3) != s.OW) {
        throw py::value_error(what + ": grad_out has shape " + shape_str(grad_out) +
                              " but the forward output is (" + std::to_string(s.N) + ", " +
                              std::to_string(s.F) + ", " + std::to_string(s.OH) + ", " +
                              std::to_string(s.OW) + ")");
    }
}

static const float* fdata(const py::array& a) { return static_cast<const float*>(a.data()); }

// "auto" | "im2col" | "direct" | "winograd" (where `winograd` is allowed) -> ConvAlgorithm
static ConvAlgorithm parse_algorithm(const std::string& name, const std::string& what,
                                     bool winograd = true) {
    if (name == "auto") return ConvAlgorithm::automatic;
    if (name == "im2col") return ConvAlgorithm::im2col;
    if (name == "direct") return ConvAlgorithm::direct;
    if (winograd && name == "winograd") return ConvAlgorithm::winograd;
    throw py::value_error(what + ": algorithm must be " +
                          (winograd ? "'auto', 'im2col', 'direct' or 'winograd'"
                                    : "'auto', 'im2col' or 'direct'") +
                          ", got '" + name + "'");
}

static std::string geometry_str(const Conv2dShape& s) {
    return "kernel " + pair_str({s.KH, s.KW}) + ", stride " + pair_str({s.stride_h, s.stride_w}) +
           ", padding " + pair_str({s.pad_h, s.pad_w}) + ", dilation " +
           pair_str({s.dil_h, s.dil_w});
}

// conv2d's algorithm; "direct" and "winograd" only where they apply
static ConvAlgorithm conv_algorithm(const std::string& name, const Conv2dShape& s,
                                    const std::string& what) {
    const ConvAlgorithm algorithm = parse_algorithm(name, what);
    if (algorithm == ConvAlgorithm::direct && !conv2d_direct_applies(s))
        throw py::value_error(what + ": the direct algorithm needs a horizontal stride of 1, "
                              "got stride " + pair_str({s.stride_h, s.stride_w}));
    if (algorithm == ConvAlgorithm::winograd && !conv2d_winograd_applies(s))
        throw py::value_error(what + ": the winograd algorithm needs a 3x3 kernel with "
                              "stride 1 and dilation 1, got " + geometry_str(s));
    return algorithm;
}

// The input gradient's algorithm; "direct" and "winograd" only where they apply
static ConvAlgorithm input_algorithm(const std::string& name, const Conv2dShape& s,
                                     const std::string& what) {
    const ConvAlgorithm algorithm = parse_algorithm(name, what);
    if (!conv2d_backward_input_applies(s, algorithm))
        throw py::value_error(
            what + ": the " + name + " input gradient needs stride 1 and padding no wider " +
            "than the kernel's reach ((kernel - 1) * dilation)" +
            (algorithm == ConvAlgorithm::winograd ? std::string(", with a 3x3 kernel and "
                                                                "dilation 1")
                                                  : std::string()) +
            "; got " + geometry_str(s));
    return algorithm;
}

// The weight gradient's algorithm; "direct" only where it applies
static ConvAlgorithm weight_algorithm(const std::string& name, const Conv2dShape& s) {
    const std::string what = "conv2d_backward_weight";
    const ConvAlgorithm algorithm = parse_algorithm(name, what, false);
    if (algorithm == ConvAlgorithm::direct && !conv2d_weight_direct_applies(s))
        throw py::value_error(
            what + ": the direct weight gradient needs a horizontal stride of 1, at least 24 "
            "input-channel taps (C*KH*KW), 64 filters and 128 output pixels per image, and "
            "output rows of at most KC pixels; got stride " + pair_str({s.stride_h, s.stride_w}) +
            ", C*KH*KW = " + std::to_string(s.C * s.KH * s.KW) + ", " + std::to_string(s.F) +
            " filters, output " + std::to_string(s.OH) + "x" + std::to_string(s.OW));
    return algorithm;
}

static py::array_t<float> conv2d(const py::array& x, const py::array& weight, Pair stride,
                                 Pair padding, Pair dilation, const std::string& algorithm) {
    require_spatial(x, "x");
    require_spatial(weight, "weight");
    if (x.shape(1) != weight.shape(1)) {
        throw py::value_error("conv2d: input has " + std::to_string(x.shape(1)) +
                              " channels but weight expects " + std::to_string(weight.shape(1)) +
                              ": x shape " + shape_str(x) + ", weight shape " +
                              shape_str(weight));
    }
    const Conv2dShape s = conv2d_geometry(x.shape(0), x.shape(1), x.shape(2), x.shape(3),
                                          weight.shape(0), weight.shape(2), weight.shape(3),
                                          stride, padding, dilation, "conv2d");
    const ConvAlgorithm algo = conv_algorithm(algorithm, s, "conv2d");
    py::array_t<float> y({s.N, s.F, s.OH, s.OW});
    if (y.size() == 0) return y;
    const float *px = fdata(x), *pw = fdata(weight);
    float* py_ = y.mutable_data();
    if (s.C == 0) {  // a sum over zero channels: the GEMM (K = 0) would not write y
        std::fill(py_, py_ + y.size(), 0.0f);
        return y;
    }
    {
        py::gil_scoped_release release;
        conv2d_forward(px, pw, py_, s, algo);
    }
    return y;
}

static py::array_t<float> conv2d_backward_input(const py::array& grad_out,
                                                const py::array& weight, Pair input_hw,
                                                Pair stride, Pair padding, Pair dilation,
                                                const std::string& algorithm) {
    const std::string what = "conv2d_backward_input";
    require_spatial(grad_out, "grad_out");
    require_spatial(weight, "weight");
    if (grad_out.shape(1) != weight.shape(0)) {
        throw py::value_error(what + ": grad_out has " + std::to_string(grad_out.shape(1)) +
                              " channels but weight has " + std::to_string(weight.shape(0)) +
                              " filters: grad_out shape " + shape_str(grad_out) +
                              ", weight shape " + shape_str(weight));
    }
    const Conv2dShape s = conv2d_geometry(grad_out.shape(0), weight.shape(1), input_hw[0],
                                          input_hw[1], weight.shape(0), weight.shape(2),
                                          weight.shape(3), stride, padding, dilation, what);
    require_grad_out(grad_out, s, what);
    const ConvAlgorithm algo = input_algorithm(algorithm, s, what);
    py::array_t<float> grad_x({s.N, s.C, s.H, s.W});
    if (grad_x.size() == 0) return grad_x;
    const float *pg = fdata(grad_out), *pw = fdata(weight);
    float* px = grad_x.mutable_data();
    if (s.F == 0) {  // no filters, no gradient: the GEMM (K = 0) would not write grad_x
        std::fill(px, px + grad_x.size(), 0.0f);
        return grad_x;
    }
    {
        py::gil_scoped_release release;
        tinytorch::conv2d_backward_input(pg, pw, px, s, algo);
    }
    return grad_x;
}

static py::array_t<float> conv2d_backward_weight(const py::array& grad_out, const py::array& x,
                                                 Pair kernel_hw, Pair stride, Pair padding,
                                                 Pair dilation, const std::string& algorithm) {
    const std::string what = "conv2d_backward_weight";
    require_spatial(grad_out, "grad_out");
    require_spatial(x, "x");
    if (grad_out.shape(0) != x.shape(0)) {
        throw py::value_error(what + ": batch sizes differ: grad_out shape " +
                              shape_str(grad_out) + ", x shape " + shape_str(x));
    }
    const Conv2dShape s = conv2d_geometry(x.shape(0), x.shape(1), x.shape(2), x.shape(3),
                                          grad_out.shape(1), kernel_hw[0], kernel_hw[1], stride,
                                          padding, dilation, what);
    require_grad_out(grad_out, s, what);
    const ConvAlgorithm algo = weight_algorithm(algorithm, s);
    py::array_t<float> grad_w({s.F, s.C, s.KH, s.KW});
    if (grad_w.size() == 0) return grad_w;
    float* pw = grad_w.mutable_data();
    const float *pg = fdata(grad_out), *px = fdata(x);
    {
        py::gil_scoped_release release;
        if (s.N == 0) {
            std::fill(pw, pw + grad_w.size(), 0.0f);
        } else {
            tinytorch::conv2d_backward_weight(pg, px, pw, s, algo);
        }
    }
    return grad_w;
}

// Pooling windows: a depthwise "convolution" with dilation 1, F == C. As in
// PyTorch, padding is at most half the kernel so no window is all padding.
static Conv2dShape pool_geometry(int64_t N, int64_t C, int64_t H, int64_t W, Pair kernel,
                                 Pair stride, Pair padding, const std::string& what) {
    if (padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2) {
        throw py::value_error(what + ": padding " + pair_str(padding) +
                              " must be at most half the kernel size " + pair_str(kernel));
    }
    // Average pooling divides by KH*KW; a product that wraps would change its sign.
    int64_t window_size;
    if (__builtin_mul_overflow(kernel[0], kernel[1], &window_size)) {
        throw py::value_error(what + ": kernel size " + pair_str(kernel) + " overflows int64");
    }
    return conv2d_geometry(N, C, H, W, C, kernel[0], kernel[1], stride, padding, {1, 1}, what);
}

static py::tuple max_pool2d(const py::array& x, Pair kernel_size, Pair stride, Pair padding) {
    require_spatial(x, "x");
    const Conv2dShape s = pool_geometry(x.shape(0), x.shape(1), x.shape(2), x.shape(3),
                                        kernel_size, stride, padding, "max_pool2d");
    py::array_t<float> y({s.N, s.C, s.OH, s.OW});
    py::array_t<int64_t> indices({s.N, s.C, s.OH, s.OW});
    if (y.size() > 0) {
        const float* px = fdata(x);
        float* py_ = y.mutable_data();
        int64_t* pi = indices.mutable_data();
        py::gil_scoped_release release;
        max_pool2d_forward(px, py_, pi, s);
    }
    return py::make_tuple(y, indices);
}

static py::array_t<float> max_pool2d_backward(const py::array& grad_out,
                                              const py::array& indices, Pair input_hw) {
    const std::string what = "max_pool2d_backward";
    require_spatial(grad_out, "grad_out");
    require_dtype(indices, "indices", 'i', 8, "int64");
    require_ndim(indices, "indices", 4);
    require_c_contiguous(indices, "indices");
    for (int d = 0; d < 4; ++d) {
        if (indices.shape(d) != grad_out.shape(d)) {
            throw py::value_error(what + ": indices shape " + shape_str(indices) +
                                  " differs from grad_out shape " + shape_str(grad_out));
        }
    }
    if (std::min(input_hw[0], input_hw[1]) < 1)
        throw py::value_error(what + ": input size must be >= 1, got " + pair_str(input_hw));
    Conv2dShape s{};
    s.N = grad_out.shape(0);
    s.C = s.F = grad_out.shape(1);
    s.H = input_hw[0];
    s.W = input_hw[1];
    s.OH = grad_out.shape(2);
    s.OW = grad_out.shape(3);
    // The kernel scatters to gx[index]: an index outside the plane would
    // write outside the output array, so every one is checked first.
    const int64_t* pi = static_cast<const int64_t*>(indices.data());
    // checked: a wrapped (negative) plane size would let bad indices through
    const int64_t plane = checked_product({s.H, s.W}, what + ": input plane");
    for (py::ssize_t i = 0; i < indices.size(); ++i) {
        if (pi[i] < 0 || pi[i] >= plane) {
            throw py::value_error(what + ": indices must lie in [0, " + std::to_string(plane) +
                                  ") for an input plane of size " + pair_str(input_hw) +
                                  ", got " + std::to_string(pi[i]));
        }
    }
    py::array_t<float> grad_x({s.N, s.C, s.H, s.W});
    if (grad_x.size() == 0) return grad_x;
    const float* pg = fdata(grad_out);
    float* px = grad_x.mutable_data();
    {
        py::gil_scoped_release release;
        tinytorch::max_pool2d_backward(pg, pi, px, s);
    }
    return grad_x;
}

static py::array_t<float> avg_pool2d(const py::array& x, Pair kernel_size, Pair stride,
                                     Pair padding) {
    require_spatial(x, "x");
    const Conv2dShape s = pool_geometry(x.shape(0), x.shape(1), x.shape(2), x.shape(3),
                                        kernel_size, stride, padding, "avg_pool2d");
    py::array_t<float> y({s.N, s.C, s.OH, s.OW});
    if (y.size() == 0) return y;
    const float* px = fdata(x);
    float* py_ = y.mutable_data();
    {
        py::gil_scoped_release release;
        avg_pool2d_forward(px, py_, s);
    }
    return y;
}

static py::array_t<float> avg_pool2d_backward(const py::array& grad_out, Pair input_hw,
                                              Pair kernel_size, Pair stride, Pair padding) {
    const std::string what = "avg_pool2d_backward";
    require_spatial(grad_out, "grad_out");
    const Conv2dShape s = pool_geometry(grad_out.shape(0), grad_out.shape(1), input_hw[0],
                                        input_hw[1], kernel_size, stride, padding, what);
    require_grad_out(grad_out, s, what);
    py::array_t<float> grad_x({s.N, s.C, s.H, s.W});
    if (grad_x.size() == 0) return grad_x;
    const float* pg = fdata(grad_out);
    float* px = grad_x.mutable_data();
    {
        py::gil_scoped_release release;
        tinytorch::avg_pool2d_backward(pg, px, s);
    }
    return grad_x;
}

void bind_conv(py::module_& m) {
    m.def("conv2d", &conv2d, py::arg("x"), py::arg("weight"), py::arg("stride"),
          py::arg("padding"), py::arg("dilation"), py::arg("algorithm") = "auto",
          "x: (N, C, H, W), weight: (F, C, KH, KW) -> (N, F, OH, OW). algorithm: 'im2col' "
          "(+ sgemm), 'direct' (horizontal stride 1), 'winograd' (F(2x2, 3x3): 3x3, stride "
          "1, dilation 1), or 'auto' (winograd where it applies and pays: at least 32 channels "
          "and 32 filters, C*F >= 2048, images of at least 60% whole slivers of 2x2 blocks; "
          "else direct where it applies).");
    m.def("conv2d_backward_input", &conv2d_backward_input, py::arg("grad_out"),
          py::arg("weight"), py::arg("input_hw"), py::arg("stride"), py::arg("padding"),
          py::arg("dilation"), py::arg("algorithm") = "auto",
          "grad_out: (N, F, OH, OW) -> grad_x: (N, C, H, W). algorithm: 'im2col' (+ col2im), "
          "'direct' or 'winograd' (stride 1: a stride-1 convolution of grad_out with the "
          "flipped weights), or 'auto' (as conv2d picks for that convolution).");
    m.def("conv2d_backward_weight", &conv2d_backward_weight, py::arg("grad_out"), py::arg("x"),
          py::arg("kernel_hw"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
          py::arg("algorithm") = "auto",
          "grad_out: (N, F, OH, OW), x: (N, C, H, W) -> grad_w: (F, C, KH, KW). algorithm: "
          "'im2col' (+ sgemm), 'direct' (A packed from the padded image; horizontal stride "
          "1), or 'auto' (direct where it applies).");
    m.def("max_pool2d", &max_pool2d, py::arg("x"), py::arg("kernel_size"), py::arg("stride"),
          py::arg("padding"), "x: (N, C, H, W) -> (y, int64 indices ih*W + iw), (N, C, OH, OW).");
    m.def("max_pool2d_backward", &max_pool2d_backward, py::arg("grad_out"), py::arg("indices"),
          py::arg("input_hw"), "Scatter grad_out to the argmax positions: -> (N, C, H, W).");
    m.def("avg_pool2d", &avg_pool2d, py::arg("x"), py::arg("kernel_size"), py::arg("stride"),
          py::arg("padding"), "x: (N, C, H, W) -> (N, C, OH, OW), count_include_pad=True.");
    m.def("avg_pool2d_backward", &avg_pool2d_backward, py::arg("grad_out"), py::arg("input_hw"),
          py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
          "grad_out: (N, C, OH, OW) -> grad_x: (N, C, H, W).");
}

}  // namespace tinytorch::bind
