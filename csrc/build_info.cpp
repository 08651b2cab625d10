// What this extension was compiled with, so `tinytorch doctor` and the
// benchmarks can report it.
#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef TINYTORCH_COMPILER
#define TINYTORCH_COMPILER "unknown"
#endif
#ifndef TINYTORCH_NATIVE_ARCH_FLAG
#define TINYTORCH_NATIVE_ARCH_FLAG 0
#endif

namespace tinytorch {

BuildInfo build_info() {
    BuildInfo info;
    info.compiler = TINYTORCH_COMPILER;
#if defined(__AVX512F__)
    info.simd = "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
    info.simd = "AVX2";
#else
    info.simd = "scalar";
#endif
#if defined(__AVX512VNNI__)
    info.vnni = true;
#else
    info.vnni = false;
#endif
    info.native_arch = TINYTORCH_NATIVE_ARCH_FLAG != 0;
#ifdef _OPENMP
    info.openmp = true;
    info.max_threads = omp_get_max_threads();
#else
    info.openmp = false;
    info.max_threads = 1;
#endif
    return info;
}

void set_num_threads(int n) {
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#else
    (void)n;
#endif
}

int get_num_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

}  // namespace tinytorch
