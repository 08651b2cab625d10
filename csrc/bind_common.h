// Shared argument checking for the bind_*.cpp files: the only files that
// include pybind11. Every check happens here, before a kernel touches memory,
// and raises a Python exception that names the argument and the problem.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "kernels.h"

namespace py = pybind11;

namespace tinytorch::bind {

inline std::string shape_str(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) {
        if (d) s += ", ";
        s += std::to_string(a.shape(d));
    }
    if (a.ndim() == 1) s += ",";
    return s + ")";
}

inline std::string dtype_str(const py::array& a) {
    return py::str(a.dtype()).cast<std::string>();
}

// The dtype's bytes in this machine's order ('=' or '|', or the explicit
// letter of this machine's order), read from the descriptor: asking NumPy's
// `isnative` attribute cost a Python attribute lookup on every kernel call.
inline bool native_byte_order(const py::array& a) {
    const char order = a.dtype().byteorder();
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return order == '=' || order == '|' || order == '>';
#else
    return order == '=' || order == '|' || order == '<';
#endif
}

// The data pointer and every stride a multiple of itemsize (an empty array is aligned).
inline bool is_aligned(const py::array& a, py::ssize_t itemsize) {
    bool aligned = a.size() == 0 || reinterpret_cast<std::uintptr_t>(a.data()) % itemsize == 0;
    for (py::ssize_t d = 0; d < a.ndim(); ++d)
        aligned = aligned && (a.shape(d) <= 1 || a.strides(d) % itemsize == 0);
    return aligned;
}

inline void require_dtype(const py::array& a, const char* name, char kind, py::ssize_t itemsize,
                          const char* want) {
    if (a.dtype().kind() != kind || a.itemsize() != itemsize) {
        throw py::type_error(std::string(name) + " must have dtype " + want + ", got " +
                             dtype_str(a));
    }
    // '>f4' has kind 'f' and 4 bytes too, but its bytes are swapped: the
    // kernels would read garbage numbers, so demand the machine's byte order.
    if (!native_byte_order(a)) {
        throw py::type_error(std::string(name) + " must have dtype " + want +
                             " in native byte order, got " + dtype_str(a) +
                             " (use a.astype(numpy." + want + "))");
    }
    // A view into a byte buffer at an odd offset holds float32 values at
    // addresses that are not multiples of 4: loading them is undefined behaviour
    // in C++ (and the vector loads assume it), so demand aligned data.
    if (!is_aligned(a, itemsize)) {
        throw py::value_error(std::string(name) + " is not aligned to " +
                              std::to_string(itemsize) + " bytes (a view at an odd offset into "
                              "a buffer); pass an aligned copy: numpy.array(" + name + ")");
    }
}

inline void require_float32(const py::array& a, const char* name) {
    require_dtype(a, name, 'f', 4, "float32");
}

inline void require_ndim(const py::array& a, const char* name, py::ssize_t ndim) {
    if (a.ndim() != ndim) {
        throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) +
                              "-D, got shape " + shape_str(a));
    }
}

inline void require_c_contiguous(const py::array& a, const char* name) {
    if (!(a.flags() & py::array::c_style)) {
        throw py::value_error(std::string(name) +
                              " must be C-contiguous (use numpy.ascontiguousarray)");
    }
}

// Where a 2-D float32 matrix lives: either rows are contiguous (trans=false,
// element (r, c) at data[r*ld + c]) or columns are (trans=true, element
// (r, c) at data[c*ld + r]) -- the second is what `a.T` of a C array gives,
// so GEMM can read transposed operands without a copy.
struct MatrixLayout {
    bool trans;
    int64_t ld;
};

// The layout of a 2-D array, if sgemm can read it in place.
inline std::optional<MatrixLayout> find_matrix_layout(const py::array& a) {
    const int64_t rows = a.shape(0), cols = a.shape(1);
    const int64_t s0 = a.strides(0), s1 = a.strides(1), item = a.itemsize();
    const bool unit_inner = cols <= 1 || s1 == item;
    const bool row_ok = rows <= 1 || (s0 % item == 0 && s0 / item >= cols);
    if (unit_inner && row_ok)
        return MatrixLayout{false, rows <= 1 ? std::max<int64_t>(cols, 1) : s0 / item};
    const bool unit_outer = rows <= 1 || s0 == item;
    const bool col_ok = cols <= 1 || (s1 % item == 0 && s1 / item >= rows);
    if (unit_outer && col_ok)
        return MatrixLayout{true, cols <= 1 ? std::max<int64_t>(rows, 1) : s1 / item};
    return std::nullopt;
}

inline MatrixLayout matrix_layout(const py::array& a, const char* name) {
    if (const auto layout = find_matrix_layout(a)) return *layout;
    throw py::value_error(std::string(name) +
                          " must have contiguous rows or columns (use numpy.ascontiguousarray)");
}

// ---- helpers of the newer families (norm, attention) ------------------------

inline const float* float_data(const py::array& a) { return static_cast<const float*>(a.data()); }

// float32, native byte order, `ndim` dimensions, C-contiguous: what every raw-pointer
// kernel of the norm and attention families reads.
inline void require_float32_c(const py::array& a, const char* name, py::ssize_t ndim) {
    require_float32(a, name);
    require_ndim(a, name, ndim);
    require_c_contiguous(a, name);
}

// None -> nullptr-style empty optional; a NumPy array -> itself; anything else -> TypeError.
inline std::optional<py::array> optional_array(const py::object& obj, const char* name) {
    if (obj.is_none()) return std::nullopt;
    if (!py::isinstance<py::array>(obj)) {
        throw py::type_error(std::string(name) + " must be a numpy array or None, got " +
                             py::str(py::type::of(obj)).cast<std::string>());
    }
    return obj.cast<py::array>();
}

inline std::string dims_str(std::initializer_list<int64_t> dims) {
    std::string s = "(";
    for (const int64_t d : dims) s += (s.size() > 1 ? ", " : "") + std::to_string(d);
    return s + (dims.size() == 1 ? ",)" : ")");
}

// The product of `dims` (the size of an output or scratch array), or a ValueError
// when it does not fit in int64: zero-size inputs can describe huge outputs.
inline int64_t checked_product(std::initializer_list<int64_t> dims, const std::string& what) {
    int64_t p = 1;
    for (const int64_t d : dims) {
        if (__builtin_mul_overflow(p, d, &p)) {
            throw py::value_error(what + ": an array of shape " + dims_str(dims) +
                                  " overflows int64");
        }
    }
    return p;
}

inline void require_finite(double x, const std::string& what, const char* name) {
    if (!std::isfinite(x)) {
        throw py::value_error(what + ": " + name + " must be finite, got " + std::to_string(x));
    }
}

void bind_build_info(py::module_& m);
void bind_gemm_info(py::module_& m);
void bind_matmul(py::module_& m);
void bind_softmax(py::module_& m);
void bind_conv(py::module_& m);
void bind_norm(py::module_& m);
void bind_attention(py::module_& m);
void bind_activation(py::module_& m);
void bind_sparse(py::module_& m);
void bind_quant(py::module_& m);
void bind_decode(py::module_& m);

using Pair = std::array<int64_t, 2>;

// A convolution's hyper-parameters and output size, checked (bind_conv.cpp): kernel,
// stride, dilation >= 1, padding >= 0, a non-empty input plane, no int64 overflow in
// the padded size or the dilated kernel extent, a kernel that fits the padded input;
// the output size is the formula of backends/spatial/shapes.conv2d_output_size.
Conv2dShape conv2d_geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t F, int64_t KH,
                            int64_t KW, const Pair& stride, const Pair& padding,
                            const Pair& dilation, const std::string& what);

}  // namespace tinytorch::bind
