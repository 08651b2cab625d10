// Python bindings of what the extension was built with (build_info.cpp) and of
// the thread count every kernel uses.
#include <string>
#include <thread>

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
        d["sanitize"] = info.sanitize;
        d["openmp"] = info.openmp;
        d["max_threads"] = info.max_threads;
        return d;
    }, "What the extension was compiled with: compiler, SIMD level, OpenMP, threads.");
    // Any Python int is accepted and range-checked here (a C++ `int` parameter
    // would turn 2**31 into pybind11's "incompatible function arguments").
    m.def("set_num_threads", [](const py::object& n) {
        const int cpus = tinytorch::cpu_count();
        if (!py::isinstance<py::int_>(n) || py::isinstance<py::bool_>(n)) {
            throw py::type_error("number of threads must be an int, got " +
                                 py::str(py::type::of(n)).cast<std::string>());
        }
        if (n.attr("__lt__")(1).cast<bool>() || n.attr("__gt__")(cpus).cast<bool>()) {
            throw py::value_error("number of threads must be between 1 and the " +
                                  std::to_string(cpus) + " CPUs of this machine, got " +
                                  py::str(n).cast<std::string>());
        }
        tinytorch::set_num_threads(n.cast<int>());
    }, py::arg("n"), "Threads used by the native kernels (OpenMP), 1 .. the CPU count.");
    m.def("cpu_count", &tinytorch::cpu_count, "CPUs the native kernels may use.");
    m.def("get_num_threads", &tinytorch::get_num_threads);
}

}  // namespace tinytorch::bind
