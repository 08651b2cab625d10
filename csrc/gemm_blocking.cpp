// Cache blocking of the sgemm (Module 15), derived at run time from the caches
// of the CPU it runs on, plus a measured FMA peak for the reports.
//
// The tile sizes KC, MC, NC of matmul.cpp each target one cache level. They
// used to be constants tuned on one machine (AVX-512, 1 MiB L2); on a CPU
// with half the L2 the A block then filled all of it. Here they are computed
// once from the sizes the operating system reports (Linux sysfs, then
// sysconf, then conservative defaults), so one build is tuned on the laptop
// it was installed on and also on the next machine it is copied to:
//
//   KC: the B sliver (KC x NR floats) reused by every micro-kernel call of
//       the ir loop stays in L1d (NR * KC * 4 B <= 3/4 of L1d) while the A
//       sliver (MR x KC) streams through from L2. A deep KC also amortises
//       the load/store of the C tile, so KC is at least 256.
//   MC: the packed A block (MC x KC) is swept once per B sliver from L2:
//       it takes half of L2, leaving room for the B panel's slivers and C.
//   NC: the packed B panel (KC x NC) is re-read once per A block, from L3:
//       at most a quarter of L3 per thread (two threads share it), <= 4096.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "gemm_pack.h"
#include "kernels.h"
#include "simd.h"

namespace tinytorch {
namespace {

constexpr int64_t DEFAULT_L1D = 32 * 1024, DEFAULT_L2 = 512 * 1024;
constexpr int64_t DEFAULT_L3 = 8 * 1024 * 1024;

// "32K", "1M", "32768K" from /sys/devices/system/cpu/cpu0/cache/indexN/size; 0 if absent
int64_t sysfs_cache(int level, const char* type) {
    for (int index = 0; index < 8; ++index) {
        const std::string base = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
        std::ifstream lf(base + "/level"), tf(base + "/type"), sf(base + "/size");
        int l = 0;
        std::string t, s;
        if (!(lf >> l) || !(tf >> t) || !(sf >> s)) continue;
        if (l != level || t != type || s.empty()) continue;
        const char unit = s.back();
        const int64_t scale = unit == 'K' ? 1024 : unit == 'M' ? 1024 * 1024 : 1;
        try {
            return std::stoll(scale == 1 ? s : s.substr(0, s.size() - 1)) * scale;
        } catch (...) {
            return 0;
        }
    }
    return 0;
}

int64_t sysconf_cache([[maybe_unused]] int which) {
#if defined(_SC_LEVEL1_DCACHE_SIZE)
    const long v = sysconf(which == 1   ? _SC_LEVEL1_DCACHE_SIZE
                           : which == 2 ? _SC_LEVEL2_CACHE_SIZE
                                        : _SC_LEVEL3_CACHE_SIZE);
    return v > 0 ? v : 0;
#else
    return 0;
#endif
}

int64_t cache_size(int level, const char* type, int64_t fallback, const char*& source) {
    if (const int64_t v = sysfs_cache(level, type); v > 0) return v;
    if (const int64_t v = sysconf_cache(level); v > 0) {
        if (source == std::string("sysfs")) source = "sysconf";
        return v;
    }
    source = "defaults";
    return fallback;
}

int64_t round_down(int64_t x, int64_t g) { return std::max(g, x / g * g); }

GemmBlocking derive() {
    GemmBlocking b;
    b.source = "sysfs";
    b.l1d = cache_size(1, "Data", DEFAULT_L1D, b.source);
    b.l2 = cache_size(2, "Unified", DEFAULT_L2, b.source);
    b.l3 = cache_size(3, "Unified", DEFAULT_L3, b.source);
    b.mr = simd::MR;
    b.nr = gemm::NR;
    // The B sliver (KC x NR floats) is re-read by every micro-kernel call of an A
    // block, so it must stay in L1d: 3/4 of it, at least 256 deep, a multiple of 16.
    // The A sliver (KC x MR) is read once per call and streams from L2 beside it.
    // (Fitting both slivers, (NR + MR) * KC, gave KC = 272 on a 32 KiB L1d with the
    // AVX2 6 x 16 tile: 0.80x OpenBLAS at 1024^3, against 0.97x at KC = 384, measured
    // interleaved in one process on the course's Zen 3 machine.)
    const int64_t kc_fit = b.l1d * 3 / 4 / (4 * b.nr);
    b.kc = std::clamp<int64_t>(round_down(kc_fit, 16), 256, 1024);
    // the A block in half of L2, a multiple of MR
    b.mc = std::clamp<int64_t>(round_down(b.l2 / 2 / (4 * b.kc), b.mr), b.mr, 1024 / b.mr * b.mr);
    // the B panel in a quarter of L3 (per thread of two), a multiple of NR
    b.nc = std::clamp<int64_t>(round_down(b.l3 / 4 / (4 * b.kc), b.nr), b.nr, 4096);
    return b;
}

GemmBlocking& current() {
    static GemmBlocking b = derive();
    return b;
}

}  // namespace

const GemmBlocking& gemm_blocking() { return current(); }

GemmBlocking set_gemm_blocking(int64_t kc, int64_t mc, int64_t nc) {
    GemmBlocking b = derive();
    if (kc > 0) b.kc = kc;
    if (mc > 0) b.mc = simd::round_up(mc, b.mr);
    if (nc > 0) b.nc = simd::round_up(nc, b.nr);
    if (kc > 0 || mc > 0 || nc > 0) b.source = "set_gemm_blocking";
    current() = b;
    return b;
}

// Peak FMA throughput of one core: 12 independent chains of vector FMAs on
// registers (enough to cover a 4-5 cycle latency at 2 FMAs per cycle), no
// memory traffic. FLOPs = chains * VL lanes * 2 per FMA per iteration.
double fma_peak_gflops(double seconds) {
    using namespace simd;
    constexpr int CHAINS = 12;
    vec acc[CHAINS];
    for (int i = 0; i < CHAINS; ++i) acc[i] = vset1(0.001f * static_cast<float>(i + 1));
    const vec a = vset1(0.99999f), b = vset1(1e-6f);
    const auto t0 = std::chrono::steady_clock::now();
    int64_t iterations = 0;
    double elapsed = 0.0;
    const int64_t batch = 1 << 16;
    do {
        for (int64_t n = 0; n < batch; ++n) {
#pragma GCC unroll 12
            for (int i = 0; i < CHAINS; ++i) acc[i] = vfma(acc[i], a, b);
        }
        iterations += batch;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (elapsed < seconds);
    float sink = 0.0f;
    for (int i = 0; i < CHAINS; ++i) sink += vreduce_add(acc[i]);
    static std::atomic<float> keep{0.0f};
    keep.store(sink, std::memory_order_relaxed);  // the chains must not be optimised away
    return static_cast<double>(iterations) * CHAINS * VL * 2 / elapsed / 1e9;
}

}  // namespace tinytorch
