// What this extension was compiled with, so `tinytorch doctor` and the
// benchmarks can report it.
#include <algorithm>

#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef TINYTORCH_COMPILER
#define TINYTORCH_COMPILER "unknown"
#endif
#ifndef TINYTORCH_SANITIZE_FLAG
#define TINYTORCH_SANITIZE_FLAG 0
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
    info.sanitize = TINYTORCH_SANITIZE_FLAG != 0;
#ifdef _OPENMP
    info.openmp = true;
    info.max_threads = omp_get_max_threads();
#else
    info.openmp = false;
    info.max_threads = 1;
#endif
    return info;
}

// Read once: omp_get_num_procs() asks the kernel for this process's CPU
// affinity (a sched_getaffinity system call) every time, and get_num_threads()
// runs on every sgemm call: 7% of a 64 x 64 x 64 product went to that call
// (perf, AVX-512 Zen 4). An affinity narrowed later only means more threads
// than CPUs, never more than the machine has.
int cpu_count() {
#ifdef _OPENMP
    static const int count = std::max(1, omp_get_num_procs());
    return count;
#else
    return 1;
#endif
}

// Never more threads than CPUs: oversubscribing only measures the scheduler, and
// OMP_NUM_THREADS=100000 would start that many threads (each with its own stack)
// in the first parallel region. Called once when the module loads, so the plain
// `omp parallel` loops (softmax, pooling) follow the cap as well.
void cap_num_threads() {
#ifdef _OPENMP
    if (omp_get_max_threads() > cpu_count()) omp_set_num_threads(cpu_count());
#endif
}

void set_num_threads(int n) {
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(std::min(n, cpu_count()));
#else
    (void)n;
#endif
}

int get_num_threads() {
#ifdef _OPENMP
    return std::clamp(omp_get_max_threads(), 1, cpu_count());
#else
    return 1;
#endif
}

}  // namespace tinytorch
