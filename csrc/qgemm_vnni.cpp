// The VNNI paths of the int8 GEMM (Module 17): one vpdpbusd per vector.
//
// vpdpbusd multiplies 4 adjacent u8 x s8 pairs, sums them and adds the sum
// to an int32 lane in one instruction, without an int16 intermediate, so it
// cannot saturate (the "s" variant vpdpbusds saturates the int32; we use the
// wrapping one, exact as long as the sum fits, which the bindings ensure).
//   * AVX-512 VNNI (Intel Cascade Lake+, AMD Zen 4+): _mm512_dpbusd_epi32,
//     64 multiply-adds per instruction;
//   * AVX-VNNI (Intel Alder Lake+, AMD Zen 5): the same on 256-bit
//     registers, _mm256_dpbusd_avx_epi32.
// The operands stay 8-bit: quads (a[r][4q..4q+3]) broadcast as one 32-bit
// word, B packed as [q][column][4 bytes]. The instruction wants A unsigned:
// a signed A is packed as a + 128 (flip the top bit) and the driver subtracts
// 128 * sum_k W[n, k] afterwards (shifts_signed_a).
//
// Each function carries its own target attribute and the driver calls it
// only when __builtin_cpu_supports says the CPU has the instructions, so a
// portable build picks the best path at run time.
#include <immintrin.h>

#include <cstring>

#include "qgemm.h"

namespace tinytorch::qgemm {
namespace {

// Pack A into quads: 32-bit word q*mr + r holds a[r][4q..4q+3] (+128 if signed).
template <int64_t MRV>
void pack_a_quads(const uint8_t* A, int64_t lda, bool a_signed, int64_t i0, int64_t k0,
                  int64_t mc, int64_t kc, void* dst) {
    const int64_t quads = (kc + 3) / 4;
    uint8_t* out = static_cast<uint8_t*>(dst);
    const uint8_t flip = a_signed ? 0x80 : 0x00;
    for (int64_t s = 0; s < mc; s += MRV, out += MRV * quads * 4) {
        for (int64_t r = 0; r < MRV; ++r) {
            const uint8_t* src = A + (i0 + s + r) * lda + k0;
            for (int64_t q = 0; q < quads; ++q)
                for (int64_t j = 0; j < 4; ++j) {
                    const int64_t k = 4 * q + j;
                    out[(q * MRV + r) * 4 + j] =
                        (s + r < mc && k < kc) ? uint8_t(src[k] ^ flip) : uint8_t(0);
                }
        }
    }
}

// Pack W into quads: bytes (q*nr + c)*4 .. +3 hold W[c][4q..4q+3].
template <int64_t NRV>
void pack_b_quads(const int8_t* W, int64_t ldw, int64_t j0, int64_t k0, int64_t nc, int64_t kc,
                  void* dst) {
    const int64_t quads = (kc + 3) / 4;
    int8_t* out = static_cast<int8_t*>(dst);
    for (int64_t s = 0; s < nc; s += NRV, out += NRV * quads * 4) {
        for (int64_t c = 0; c < NRV; ++c) {
            const int8_t* src = W + (j0 + s + c) * ldw + k0;
            for (int64_t q = 0; q < quads; ++q)
                for (int64_t j = 0; j < 4; ++j) {
                    const int64_t k = 4 * q + j;
                    out[(q * NRV + c) * 4 + j] = (s + c < nc && k < kc) ? src[k] : int8_t(0);
                }
        }
    }
}

// AVX-512 VNNI: 12 rows x 32 columns = 24 zmm accumulators of the 32.
constexpr int64_t MR512 = 12, NR512 = 32;

__attribute__((target("avx512f,avx512bw,avx512vnni")))
void kernel_avx512_vnni(int64_t kcp, const void* a_, const void* b_, int32_t* tile) {
    const int32_t* a = static_cast<const int32_t*>(a_);
    const __m512i* b = static_cast<const __m512i*>(b_);
    __m512i acc[MR512][2];
    for (int r = 0; r < MR512; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    for (int64_t q = 0; q < kcp / 4; ++q, a += MR512, b += 2) {
        const __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + 1);
#pragma GCC unroll 12
        for (int r = 0; r < MR512; ++r) {
            const __m512i ar = _mm512_set1_epi32(a[r]);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], ar, b0);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], ar, b1);
        }
    }
    for (int r = 0; r < MR512; ++r) {
        _mm512_store_si512(tile + r * NR512, acc[r][0]);
        _mm512_store_si512(tile + r * NR512 + 16, acc[r][1]);
    }
}

// AVX-VNNI: 6 rows x 16 columns on the 16 ymm registers, like the AVX2 path.
constexpr int64_t MR256 = 6, NR256 = 16;

__attribute__((target("avx2,avxvnni")))
void kernel_avx_vnni(int64_t kcp, const void* a_, const void* b_, int32_t* tile) {
    const int32_t* a = static_cast<const int32_t*>(a_);
    const __m256i* b = static_cast<const __m256i*>(b_);
    __m256i acc[MR256][2];
    for (int r = 0; r < MR256; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int64_t q = 0; q < kcp / 4; ++q, a += MR256, b += 2) {
        const __m256i b0 = _mm256_load_si256(b), b1 = _mm256_load_si256(b + 1);
#pragma GCC unroll 6
        for (int r = 0; r < MR256; ++r) {
            const __m256i ar = _mm256_set1_epi32(a[r]);
            acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], ar, b0);
            acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], ar, b1);
        }
    }
    for (int r = 0; r < MR256; ++r) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(tile + r * NR256), acc[r][0]);
        _mm256_store_si256(reinterpret_cast<__m256i*>(tile + r * NR256 + 8), acc[r][1]);
    }
}

}  // namespace

const Path* avx512_vnni_path() {
    static const Path path{"avx512_vnni", MR512, NR512, 4, 1, 1, &pack_a_quads<MR512>,
                           &pack_b_quads<NR512>, &kernel_avx512_vnni, true};
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vnni")))
        return nullptr;
    return &path;
}

const Path* avx_vnni_path() {
    static const Path path{"avx_vnni", MR256, NR256, 4, 1, 1, &pack_a_quads<MR256>,
                           &pack_b_quads<NR256>, &kernel_avx_vnni, true};
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni"))) return nullptr;
    return &path;
}

}  // namespace tinytorch::qgemm
