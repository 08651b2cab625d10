// The tinytorch._native extension module. Each kernel family registers its
// functions from its own bind_*.cpp file; this file only assembles them.
#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

void bind_build_info(py::module_& m) {
    m.def("build_info", [] {
        const BuildInfo info = tinytorch::build_info();
        py::dict d;
        d["compiler"] = info.compiler;
        d["simd"] = info.simd;
        d["vnni"] = info.vnni;
        d["native_arch"] = info.native_arch;
        d["openmp"] = info.openmp;
        d["max_threads"] = info.max_threads;
        return d;
    }, "What the extension was compiled with: compiler, SIMD level, OpenMP, threads.");
    m.def("set_num_threads", [](int n) {
        if (n < 1) throw py::value_error("number of threads must be >= 1, got " + std::to_string(n));
        tinytorch::set_num_threads(n);
    }, py::arg("n"), "Threads used by the native kernels (OpenMP).");
    m.def("get_num_threads", &tinytorch::get_num_threads);
}

}  // namespace tinytorch::bind

PYBIND11_MODULE(_native, m) {
    m.doc() = "TinyTorch native kernels (C++17). Module 15 explains how they are made fast.";
    tinytorch::bind::bind_build_info(m);
    tinytorch::bind::bind_matmul(m);
    tinytorch::bind::bind_softmax(m);
    tinytorch::bind::bind_conv(m);
}
