// Python bindings of the sgemm's cache blocking and of the measured FMA peak
// (gemm_blocking.cpp), for `tinytorch doctor`, `tinytorch bench` and the
// Module 15 exercises.
#include <string>
#include <utility>

#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {
namespace {

py::dict blocking_dict(const GemmBlocking& b) {
    py::dict d;
    d["kc"] = b.kc;
    d["mc"] = b.mc;
    d["nc"] = b.nc;
    d["mr"] = b.mr;
    d["nr"] = b.nr;
    d["l1d"] = b.l1d;
    d["l2"] = b.l2;
    d["l3"] = b.l3;
    d["source"] = std::string(b.source);
    // the AVX2 12 x 8 pair-broadcast tile of large products, when in use
    // and how threads share a large product on it: "dynamic" items or one row range each
    const bool pairs = gemm_pair_tile_enabled();
    d["pair_tile"] = pairs ? py::object(py::str("12x8")) : py::object(py::none());
    d["schedule"] = pairs ? py::object(py::str(gemm_dynamic_enabled() ? "dynamic" : "static"))
                          : py::object(py::none());
    return d;
}

}  // namespace

void bind_gemm_info(py::module_& m) {
    m.def("gemm_blocking", [] { return blocking_dict(tinytorch::gemm_blocking()); },
          "The sgemm's register tile (mr x nr) and cache blocking (kc, mc, nc), and the cache "
          "sizes in bytes (l1d, l2, l3) it was derived from.");
    m.def("set_gemm_blocking", [](int64_t kc, int64_t mc, int64_t nc) {
        constexpr int64_t LIMIT = 1 << 16;
        const std::pair<const char*, int64_t> sizes[] = {{"kc", kc}, {"mc", mc}, {"nc", nc}};
        for (const auto& [name, v] : sizes)
            if (v < 0 || v > LIMIT)
                throw py::value_error(std::string("set_gemm_blocking: ") + name +
                                      " must be between 0 (derive it) and " +
                                      std::to_string(LIMIT) + ", got " + std::to_string(v));
        return blocking_dict(tinytorch::set_gemm_blocking(kc, mc, nc));
    }, py::arg("kc") = 0, py::arg("mc") = 0, py::arg("nc") = 0,
       "Replace the sgemm's cache blocking for this process (0 = derive from the caches); "
       "returns the new blocking. For experiments: call it between, not during, matmuls.");
    m.def("set_gemm_pair_tile", [](bool enabled) { return tinytorch::set_gemm_pair_tile(enabled); },
          py::arg("enabled").noconvert(),  // True or False only: None is not "off"
          "Use the AVX2 12x8 pair-broadcast tile for large sgemms (default True); returns whether "
          "this build has it (AVX2 without AVX-512). For experiments: call it between matmuls.");
    m.def("set_gemm_dynamic", [](bool enabled) { return tinytorch::set_gemm_dynamic(enabled); },
          py::arg("enabled").noconvert(),  // True or False only: None is not "off"
          "Hand the blocks of a large threaded sgemm on the pair tile to whichever thread is free "
          "(default True); False splits the rows statically, one range per thread. Returns whether "
          "this build has it (as set_gemm_pair_tile). For experiments: call it between matmuls.");
    m.def("fma_peak_gflops", [](double seconds) {
        if (!(seconds > 0.0 && seconds <= 10.0))
            throw py::value_error("fma_peak_gflops: seconds must be in (0, 10], got " +
                                  std::to_string(seconds));
        py::gil_scoped_release release;
        return tinytorch::fma_peak_gflops(seconds);
    }, py::arg("seconds") = 0.2,
       "GFLOP/s of one core running independent vector FMAs on registers (the FMA peak).");
}

}  // namespace tinytorch::bind
