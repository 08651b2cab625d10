// Python bindings of the quant family (qgemm.cpp, quantize.cpp, Module 17).
// Every argument is checked here, before any kernel touches memory.
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

// int32 sums of K products of at most 255 * 128 = 32640 in magnitude fit for K <= 65535;
// the epilogue also subtracts a_zp * colsum, whose exact value needs K <= 32768.
constexpr int64_t MAX_K_GEMM = 65535, MAX_K_LINEAR = 32768;

static void require_int_c(const py::array& a, const char* name, py::ssize_t ndim, char kind,
                          py::ssize_t size, const char* want) {
    require_dtype(a, name, kind, size, want);
    require_ndim(a, name, ndim);
    require_c_contiguous(a, name);
}

// A: uint8 or int8 (M, K); returns whether it is signed
static bool require_activations(const py::array& a, const std::string& what) {
    const char kind = a.dtype().kind();
    if (!((kind == 'u' || kind == 'i') && a.itemsize() == 1)) {
        throw py::type_error(what + ": the activations must have dtype uint8 or int8, got " +
                             dtype_str(a));
    }
    require_ndim(a, "a", 2);
    require_c_contiguous(a, "a");
    return kind == 'i';
}

static void require_k(int64_t K, int64_t limit, const std::string& what) {
    if (K > limit) {
        throw py::value_error(what + ": K = " + std::to_string(K) + " is too deep for int32 "
                              "accumulation (at most " + std::to_string(limit) + ")");
    }
}

static void check_gemm_shapes(const py::array& a, const py::array& w, const std::string& what) {
    require_int_c(w, "w", 2, 'i', 1, "int8");
    if (a.shape(1) != w.shape(1)) {
        throw py::value_error(what + ": a has shape " + shape_str(a) + " and w has shape " +
                              shape_str(w) + "; their last dimensions (K) must agree");
    }
}

static py::array int8_gemm(const py::array& a, const py::array& w) {
    const std::string what = "int8_gemm";
    const bool a_signed = require_activations(a, what);
    check_gemm_shapes(a, w, what);
    const int64_t M = a.shape(0), K = a.shape(1), N = w.shape(0);
    require_k(K, MAX_K_GEMM, what);
    checked_product({M, N}, what);
    py::array_t<int32_t> c({M, N});
    const auto* pa = static_cast<const uint8_t*>(a.data());
    const auto* pw = static_cast<const int8_t*>(w.data());
    int32_t* pc = c.mutable_data();
    {
        py::gil_scoped_release release;
        qgemm_s32(a_signed, M, N, K, pa, K, pw, K, pc, N);
    }
    return c;
}

// a (n,) vector of `dtype`, or with `allow_one`, also a single value broadcast to n
static std::vector<char> vector_arg(const py::array& v, const char* name, int64_t n,
                                    bool allow_one, char kind, const char* want,
                                    const std::string& what) {
    require_int_c(v, name, 1, kind, 4, want);
    const int64_t len = v.shape(0);
    if (!(len == n || (allow_one && len == 1))) {
        throw py::value_error(what + ": " + name + " must have shape (" + std::to_string(n) +
                              ",)" + (allow_one ? " or (1,)" : "") + ", got " + shape_str(v));
    }
    std::vector<char> out(static_cast<size_t>(n) * 4);
    const char* src = static_cast<const char*>(v.data());
    for (int64_t i = 0; i < n; ++i) std::copy(src + (len == 1 ? 0 : i * 4),
                                              src + (len == 1 ? 4 : i * 4 + 4), out.data() + i * 4);
    return out;
}

static py::array int8_linear(const py::array& a, const py::array& a_scale,
                             const py::array& a_zp, const py::array& w,
                             const py::array& w_scale, const py::array& w_colsum,
                             const py::object& bias_obj, bool relu,
                             const std::string& out_dtype, double out_scale, int64_t out_zp) {
    const std::string what = "int8_linear";
    const bool a_signed = require_activations(a, what);
    check_gemm_shapes(a, w, what);
    const int64_t M = a.shape(0), K = a.shape(1), N = w.shape(0);
    require_k(K, MAX_K_LINEAR, what);
    const auto as = vector_arg(a_scale, "a_scale", M, true, 'f', "float32", what);
    const auto az = vector_arg(a_zp, "a_zp", M, true, 'i', "int32", what);
    const auto ws = vector_arg(w_scale, "w_scale", N, false, 'f', "float32", what);
    const auto wc = vector_arg(w_colsum, "w_colsum", N, false, 'i', "int32", what);
    std::vector<char> bv;
    const auto bias = optional_array(bias_obj, "bias");
    if (bias) bv = vector_arg(*bias, "bias", N, false, 'f', "float32", what);
    int kind = 0;
    if (out_dtype == "int8") kind = 1;
    else if (out_dtype == "uint8") kind = 2;
    else if (out_dtype != "float32") {
        throw py::value_error(what + ": out_dtype must be 'float32', 'int8' or 'uint8', got '" +
                              out_dtype + "'");
    }
    if (kind) {
        require_finite(out_scale, what, "out_scale");
        if (!(out_scale > 0)) throw py::value_error(what + ": out_scale must be positive");
        const int64_t lo = kind == 1 ? -128 : 0, hi = kind == 1 ? 127 : 255;
        if (out_zp < lo || out_zp > hi) {
            throw py::value_error(what + ": out_zp " + std::to_string(out_zp) +
                                  " is out of range for " + out_dtype);
        }
    }
    checked_product({M, N}, what);
    py::array out = kind == 0 ? py::array(py::array_t<float>({M, N}))
                   : kind == 1 ? py::array(py::array_t<int8_t>({M, N}))
                               : py::array(py::array_t<uint8_t>({M, N}));
    const auto* pa = static_cast<const uint8_t*>(a.data());
    const auto* pw = static_cast<const int8_t*>(w.data());
    void* po = out.mutable_data();
    const float* pb = bias ? reinterpret_cast<const float*>(bv.data()) : nullptr;
    {
        py::gil_scoped_release release;
        qlinear(a_signed, M, N, K, pa, K, pw, K, reinterpret_cast<const float*>(as.data()),
                reinterpret_cast<const int32_t*>(az.data()),
                reinterpret_cast<const float*>(ws.data()),
                reinterpret_cast<const int32_t*>(wc.data()), pb, relu, kind, float(out_scale),
                int32_t(out_zp), po);
    }
    return out;
}

static py::tuple quantize_rows(const py::array& x, bool per_row, const std::string& dtype,
                               bool reduce_range) {
    const std::string what = "quantize_rows";
    require_float32_c(x, "x", 2);
    if (dtype != "uint8" && dtype != "int8") {
        throw py::value_error(what + ": dtype must be 'uint8' or 'int8', got '" + dtype + "'");
    }
    const bool to_signed = dtype == "int8";
    const int64_t M = x.shape(0), K = x.shape(1), groups = per_row ? M : 1;
    py::array q = to_signed ? py::array(py::array_t<int8_t>({M, K}))
                            : py::array(py::array_t<uint8_t>({M, K}));
    py::array_t<float> scale(groups);
    py::array_t<int32_t> zp(groups);
    const float* px = float_data(x);
    auto* pq = static_cast<uint8_t*>(q.mutable_data());
    float* ps = scale.mutable_data();
    int32_t* pz = zp.mutable_data();
    {
        py::gil_scoped_release release;
        quantize_dynamic_rows(px, M, K, per_row, to_signed, reduce_range, pq, ps, pz);
    }
    return py::make_tuple(q, scale, zp);
}

static void require_act_qparams(double scale, int64_t zero_point, int32_t qmin, int32_t qmax,
                                const std::string& dtype, const std::string& what) {
    if (!(std::isfinite(scale) && scale > 0 && float(scale) > 0 && std::isfinite(float(scale)))) {
        throw py::value_error(what + ": scale must be positive and finite in float32, got " +
                              std::to_string(scale));
    }
    if (zero_point < qmin || zero_point > qmax) {
        throw py::value_error(what + ": zero_point " + std::to_string(zero_point) +
                              " is out of range for " + dtype);
    }
}

// The geometry of an im2col over x (float32, 4-D, C-contiguous) with F output channels,
// and every size the kernels allocate checked for int64 overflow: the rows (M x K, K =
// KH*KW*C, M = N*OH*OW) and one image's channels-last buffer.
static Conv2dShape im2col_shape(const py::array& x, int64_t F, const Pair& kernel_hw,
                                const Pair& stride, const Pair& padding, const Pair& dilation,
                                const std::string& what, int64_t& M, int64_t& K) {
    require_float32_c(x, "x", 4);
    const Conv2dShape s = conv2d_geometry(x.shape(0), x.shape(1), x.shape(2), x.shape(3), F,
                                          kernel_hw[0], kernel_hw[1], stride, padding,
                                          dilation, what);
    K = checked_product({s.KH, s.KW, s.C}, what);
    M = checked_product({s.N, s.OH, s.OW}, what);
    checked_product({M, K}, what);
    checked_product({s.H + 2 * s.pad_h, s.W + 2 * s.pad_w, s.C}, what);
    return s;
}

static py::array quantize_im2col(const py::array& x, double scale, int64_t zero_point,
                                 const std::string& dtype, Pair kernel_hw, Pair stride,
                                 Pair padding, Pair dilation) {
    const std::string what = "quantize_im2col";
    if (dtype != "uint8" && dtype != "int8") {
        throw py::value_error(what + ": dtype must be 'uint8' or 'int8', got '" + dtype + "'");
    }
    const int32_t qmin = dtype == "int8" ? -128 : 0, qmax = dtype == "int8" ? 127 : 255;
    require_act_qparams(scale, zero_point, qmin, qmax, dtype, what);
    int64_t M, K;
    const Conv2dShape s = im2col_shape(x, 1, kernel_hw, stride, padding, dilation, what, M, K);
    py::array q = dtype == "int8" ? py::array(py::array_t<int8_t>({M, K}))
                                  : py::array(py::array_t<uint8_t>({M, K}));
    const float* px = float_data(x);
    auto* pq = static_cast<uint8_t*>(q.mutable_data());
    {
        py::gil_scoped_release release;
        tinytorch::quantize_im2col(px, s, float(scale), int32_t(zero_point), qmin, qmax, pq);
    }
    return q;
}

static py::array_t<float> qconv2d(const py::array& x, double a_scale, int64_t a_zp,
                                  const py::array& w, const py::array& w_scale,
                                  const py::array& w_colsum, const py::object& bias_obj,
                                  bool relu, Pair kernel_hw, Pair stride, Pair padding,
                                  Pair dilation) {
    const std::string what = "qconv2d";
    require_act_qparams(a_scale, a_zp, 0, 255, "uint8", what);
    require_int_c(w, "w", 2, 'i', 1, "int8");
    int64_t M, K;
    const Conv2dShape s = im2col_shape(x, w.shape(0), kernel_hw, stride, padding, dilation,
                                       what, M, K);
    if (w.shape(1) != K) {
        throw py::value_error(what + ": w has shape " + shape_str(w) + " but a " +
                              std::to_string(s.KH) + "x" + std::to_string(s.KW) + " kernel over " +
                              std::to_string(s.C) + " channels needs (F, " + std::to_string(K) +
                              ")");
    }
    require_k(K, MAX_K_LINEAR, what);
    const auto ws = vector_arg(w_scale, "w_scale", s.F, false, 'f', "float32", what);
    const auto wc = vector_arg(w_colsum, "w_colsum", s.F, false, 'i', "int32", what);
    std::vector<char> bv;
    if (const auto b = optional_array(bias_obj, "bias")) {
        bv = vector_arg(*b, "bias", s.F, false, 'f', "float32", what);
    }
    checked_product({M, s.F}, what);
    py::array_t<float> y({s.N, s.F, s.OH, s.OW});
    const float* px = float_data(x);
    const auto* pw = static_cast<const int8_t*>(w.data());
    const float* pb = bv.empty() ? nullptr : reinterpret_cast<const float*>(bv.data());
    float* py_ = y.mutable_data();
    {
        py::gil_scoped_release release;
        tinytorch::qconv2d(px, s, float(a_scale), int32_t(a_zp), pw,
                           reinterpret_cast<const float*>(ws.data()),
                           reinterpret_cast<const int32_t*>(wc.data()), pb, relu, py_);
    }
    return y;
}

void bind_quant(py::module_& m) {
    m.def("qconv2d", &qconv2d, py::arg("x"), py::arg("a_scale"), py::arg("a_zp"), py::arg("w"),
          py::arg("w_scale"), py::arg("w_colsum"), py::arg("bias"), py::arg("relu"),
          py::arg("kernel_hw"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
          "QuantizedConv2d forward: quantize_im2col + int8 GEMM + float32 epilogue, NCHW out.");
    m.def("quantize_im2col", &quantize_im2col, py::arg("x"), py::arg("scale"),
          py::arg("zero_point"), py::arg("dtype"), py::arg("kernel_hw"), py::arg("stride"),
          py::arg("padding"), py::arg("dilation"),
          "Static quantization fused with im2col: float32 (N, C, H, W) -> codes "
          "(N*OH*OW, KH*KW*C), channels last.");
    m.def("int8_gemm", &int8_gemm, py::arg("a"), py::arg("w"),
          "Exact int32 C = a @ w.T for a: uint8 or int8 (M, K), w: int8 (N, K).");
    m.def("int8_linear", &int8_linear, py::arg("a"), py::arg("a_scale"), py::arg("a_zp"),
          py::arg("w"), py::arg("w_scale"), py::arg("w_colsum"), py::arg("bias"),
          py::arg("relu"), py::arg("out_dtype"), py::arg("out_scale"), py::arg("out_zp"),
          "int8 GEMM with the fused epilogue (scales, zero points, bias, ReLU, requantize).");
    m.def("quantize_rows", &quantize_rows, py::arg("x"), py::arg("per_row"), py::arg("dtype"),
          py::arg("reduce_range"),
          "Dynamic quantization of float32 x (M, K): (codes, scale, zero_point).");
    m.def("qgemm_path", &qgemm_path, "The instruction-set path the int8 GEMM uses.");
    m.def("set_qgemm_path", &set_qgemm_path, py::arg("name"),
          "Force a path ('scalar', 'avx2', 'avx_vnni', 'avx512_vnni', 'auto'); False when "
          "this CPU or build cannot run it.");
}

}  // namespace tinytorch::bind
