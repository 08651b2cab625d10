// The tinytorch._native extension module. Each kernel family registers its
// functions from its own bind_*.cpp file; this file only assembles them.
#include "bind_common.h"
#include "kernels.h"

PYBIND11_MODULE(_native, m) {
    m.doc() = "TinyTorch native kernels (C++17). Module 15 explains how they are made fast.";
    tinytorch::cap_num_threads();  // OMP_NUM_THREADS above the CPU count is lowered
    // an exercise not written yet (student release) surfaces as NotImplementedError
    pybind11::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const tinytorch::NotImplemented& e) {
            PyErr_SetString(PyExc_NotImplementedError, e.what());
        }
    });
    tinytorch::bind::bind_build_info(m);
    tinytorch::bind::bind_gemm_info(m);
    tinytorch::bind::bind_matmul(m);
    tinytorch::bind::bind_softmax(m);
    tinytorch::bind::bind_conv(m);
    tinytorch::bind::bind_norm(m);
    tinytorch::bind::bind_attention(m);
    tinytorch::bind::bind_activation(m);
    tinytorch::bind::bind_sparse(m);
    tinytorch::bind::bind_quant(m);
    tinytorch::bind::bind_decode(m);
}
