// Shared argument checking for the bind_*.cpp files: the only files that
// include pybind11. Every check happens here, before a kernel touches memory,
// and raises a Python exception that names the argument and the problem.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

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

inline void require_dtype(const py::array& a, const char* name, char kind, py::ssize_t itemsize,
                          const char* want) {
    if (a.dtype().kind() != kind || a.itemsize() != itemsize) {
        throw py::type_error(std::string(name) + " must have dtype " + want + ", got " +
                             dtype_str(a));
    }
    // '>f4' has kind 'f' and 4 bytes too, but its bytes are swapped: the
    // kernels would read garbage numbers, so demand the machine's byte order.
    if (!a.dtype().attr("isnative").cast<bool>()) {
        throw py::type_error(std::string(name) + " must have dtype " + want +
                             " in native byte order, got " + dtype_str(a) +
                             " (use a.astype(numpy." + want + "))");
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

inline MatrixLayout matrix_layout(const py::array& a, const char* name) {
    const int64_t rows = a.shape(0), cols = a.shape(1);
    const int64_t s0 = a.strides(0), s1 = a.strides(1), item = a.itemsize();
    const bool unit_inner = cols <= 1 || s1 == item;
    const bool row_ok = rows <= 1 || (s0 % item == 0 && s0 / item >= cols);
    if (unit_inner && row_ok) return {false, rows <= 1 ? std::max<int64_t>(cols, 1) : s0 / item};
    const bool unit_outer = rows <= 1 || s0 == item;
    const bool col_ok = cols <= 1 || (s1 % item == 0 && s1 / item >= rows);
    if (unit_outer && col_ok) return {true, cols <= 1 ? std::max<int64_t>(rows, 1) : s1 / item};
    throw py::value_error(std::string(name) +
                          " must have contiguous rows or columns (use numpy.ascontiguousarray)");
}

void bind_build_info(py::module_& m);
void bind_matmul(py::module_& m);
void bind_softmax(py::module_& m);
void bind_conv(py::module_& m);

}  // namespace tinytorch::bind
