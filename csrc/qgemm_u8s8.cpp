// The AVX2 u8 x s8 path of the int8 GEMM (Module 17), for activations that fit
// in 7 bits -- what dynamic quantization with reduce_range produces, as
// PyTorch's fbgemm does on x86.
//
// vpmaddubsw multiplies 32 u8 x s8 byte pairs and adds adjacent products into
// 16 int16 lanes: 32 multiply-adds per instruction, twice vpmaddwd's 16 on
// int16 operands. The int16 sum of two products saturates when it exceeds
// 32767: 255 * 127 * 2 = 64,770 would. With A <= 127 the largest magnitude is
// 127 * 128 * 2 = 32,512, so the instruction is exact; vpmaddwd against ones
// then adds the int16 pairs into int32 lanes (sums of 4 products, never near
// overflow) and vpaddd accumulates. Per 32 products: 3 instructions instead of
// the int16 path's 4 (2 vpmaddwd + 2 vpaddd), and half the bytes packed.
//
// The driver (qgemm.cpp) takes this path only for unsigned A whose every byte
// is <= 127 (fits_7_bits scans A first: M x K bytes, cheap beside the product)
// and otherwise stays on the int16 path, so the GEMM is exact for any input.
// Layout as the VNNI paths: 32-bit words holding 4 consecutive k of one row
// (A) or one column (B); K is padded to a multiple of 4 with zeros.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "qgemm.h"
#include "qgemm_tile.h"

#define TT_AVX2 __attribute__((target("avx2,fma")))

namespace tinytorch::qgemm {
namespace {

constexpr int64_t MR = 6, NR = 16;

// word (q * MR + r) = A[i0 + s + r][k0 + 4q .. +3] of sliver s (zeros past mc, kc)
TT_AVX2 void pack_a(const uint8_t* A, int64_t lda, bool /*a_signed*/, int64_t i0, int64_t k0,
                    int64_t mc, int64_t kc, void* dst) {
    const int64_t quads = (kc + 3) / 4, full = kc / 4;
    uint32_t* out = static_cast<uint32_t*>(dst);
    for (int64_t s = 0; s < mc; s += MR, out += MR * quads) {
        for (int64_t r = 0; r < MR; ++r) {
            if (s + r >= mc) {
                for (int64_t q = 0; q < quads; ++q) out[q * MR + r] = 0;
                continue;
            }
            const uint8_t* src = A + (i0 + s + r) * lda + k0;
            for (int64_t q = 0; q < full; ++q) std::memcpy(out + q * MR + r, src + 4 * q, 4);
            if (full < quads) {
                uint8_t tail[4] = {0, 0, 0, 0};
                std::memcpy(tail, src + 4 * full, kc - 4 * full);
                std::memcpy(out + full * MR + r, tail, 4);
            }
        }
    }
}

// word (q * NR + c) = W[j0 + s + c][k0 + 4q .. +3]: four columns' 16 bytes at a
// time are a 4 x 4 matrix of words, transposed with the float shuffles.
TT_AVX2 void pack_b(const int8_t* W, int64_t ldw, int64_t j0, int64_t k0, int64_t nc, int64_t kc,
                    void* dst) {
    const int64_t quads = (kc + 3) / 4;
    uint32_t* out = static_cast<uint32_t*>(dst);
    for (int64_t s = 0; s < nc; s += NR, out += NR * quads) {
        for (int64_t c0 = 0; c0 < NR; c0 += 4) {
            const int64_t cols = std::clamp<int64_t>(nc - s - c0, 0, 4);
            int64_t k = 0;
            if (cols == 4) {
                const int8_t* src[4];
                for (int c = 0; c < 4; ++c) src[c] = W + (j0 + s + c0 + c) * ldw + k0;
                for (; k + 16 <= kc; k += 16) {
                    __m128 r0 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[0] + k)));
                    __m128 r1 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[1] + k)));
                    __m128 r2 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[2] + k)));
                    __m128 r3 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[3] + k)));
                    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);  // r_q = quad q of the four columns
                    const int64_t q = k / 4;
                    _mm_storeu_ps(reinterpret_cast<float*>(out + (q + 0) * NR + c0), r0);
                    _mm_storeu_ps(reinterpret_cast<float*>(out + (q + 1) * NR + c0), r1);
                    _mm_storeu_ps(reinterpret_cast<float*>(out + (q + 2) * NR + c0), r2);
                    _mm_storeu_ps(reinterpret_cast<float*>(out + (q + 3) * NR + c0), r3);
                }
            }
            for (int64_t q = k / 4; q < quads; ++q) {  // tails: k, or fewer than 4 columns
                for (int64_t c = 0; c < 4; ++c) {
                    uint8_t quad[4] = {0, 0, 0, 0};
                    if (c < cols) {
                        const int8_t* src = W + (j0 + s + c0 + c) * ldw + k0;
                        std::memcpy(quad, src + 4 * q, std::min<int64_t>(4, kc - 4 * q));
                    }
                    std::memcpy(out + q * NR + c0 + c, quad, 4);
                }
            }
        }
    }
}

// tile[r * NR + c] = sum over k of a[r, k] * b[k, c], 6 x 16, from two packed
// slivers. Registers: 12 accumulators, 2 B vectors, the broadcast quad and one
// product; the vector of ones is read from memory by vpmaddwd.
TT_AVX2 void kernel(int64_t kcp, const void* a_, const void* b_, int32_t* tile) {
    const int32_t* a = static_cast<const int32_t*>(a_);
    const __m256i* b = static_cast<const __m256i*>(b_);
    alignas(32) static const int16_t ones_mem[16] = {1, 1, 1, 1, 1, 1, 1, 1,
                                                     1, 1, 1, 1, 1, 1, 1, 1};
    const __m256i* ones = reinterpret_cast<const __m256i*>(ones_mem);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
            c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const int64_t quads = kcp / 4;
    for (int64_t q = 0; q < quads; ++q, a += MR, b += 2) {
        const __m256i b0 = _mm256_load_si256(b), b1 = _mm256_load_si256(b + 1);
#define TT_QROW(r)                                                                         \
        {                                                                                  \
            __m256i ar = _mm256_set1_epi32(a[r]);                                          \
            __asm__("" : "+x"(ar));                                                        \
            c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(_mm256_maddubs_epi16(ar, b0), \
                                                                  _mm256_load_si256(ones))); \
            c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(_mm256_maddubs_epi16(ar, b1), \
                                                                  _mm256_load_si256(ones))); \
        }
        TT_QROW(0) TT_QROW(1) TT_QROW(2) TT_QROW(3) TT_QROW(4) TT_QROW(5)
#undef TT_QROW
    }
    store_tile_6x16(tile, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
}

}  // namespace

TT_AVX2 bool fits_7_bits(const uint8_t* A, int64_t lda, int64_t M, int64_t K) {
    const __m256i high = _mm256_set1_epi8(char(0x80));
    for (int64_t i = 0; i < M; ++i) {
        const uint8_t* row = A + i * lda;
        __m256i any = _mm256_setzero_si256();
        int64_t k = 0;
        for (; k + 32 <= K; k += 32)
            any = _mm256_or_si256(any, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + k)));
        if (!_mm256_testz_si256(any, high)) return false;
        for (; k < K; ++k)
            if (row[k] > 127) return false;
    }
    return true;
}

const Path& avx2_u8s8_path() {
    static const Path path{"avx2_u8s8", MR, NR, 4, 1, 1, &pack_a, &pack_b, &kernel, false};
    return path;
}

}  // namespace tinytorch::qgemm
