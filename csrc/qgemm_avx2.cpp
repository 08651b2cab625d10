// The AVX2 path of the int8 GEMM (Module 17): int16 widening + vpmaddwd.
//
// Why not vpmaddubsw, the instruction fbgemm and llama.cpp use on AVX2? It
// multiplies u8 x s8 and adds adjacent pairs into int16 *with saturation*:
// 255 * 127 + 255 * 127 = 64770 does not fit in int16 (max 32767), so a
// naive kernel silently clips. The usual escapes each cost something:
//   * 7-bit activations (PyTorch's reduce_range on x86: codes 0..127) or
//     7-bit weights: one bit of precision thrown away for every tensor;
//   * the sign trick for s8 x s8 (_mm256_sign_epi8 moves A's sign onto B):
//     |-128| = 128 does not fit in s8, so -128 must be banned.
// Here both operands are widened to int16 while packing (vpmovzxbw /
// vpmovsxbw) and vpmaddwd multiplies int16 pairs into int32 sums: the
// largest pair sum, 2 * 255 * 128 = 65280, is far inside int32, so the
// kernel is exact for every u8/s8 input. The price is bandwidth, not
// arithmetic: vpmaddwd does 16 multiply-adds, the same as the
// vpmaddubsw + vpmaddwd(ones) pair does 32 with two multiplies, so per
// multiply instruction both deliver 16; the int16 slivers are twice as big,
// which the cache blocking (qgemm.cpp) absorbs.
//
// Compiled with a function-level target attribute, so a portable build
// (TINYTORCH_NATIVE_ARCH=OFF) still has it and picks it at run time.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "qgemm.h"
#include "qgemm_tile.h"

#define TT_AVX2 __attribute__((target("avx2,fma")))

namespace tinytorch::qgemm {
namespace {

// Register tile: 6 rows x 16 int32 columns = 12 accumulators, plus 2 B
// vectors and 1 broadcast A pair: 15 of the 16 ymm registers.
constexpr int64_t MR = 6, NR = 16;

// A sliver: int16 pairs, element (kp, r) = (a[r][2kp], a[r][2kp+1]) at 32-bit
// word kp*MR + r, so one vpbroadcastd fetches the pair of row r. The rows of
// A run along k, the sliver along r: each row is widened into a temporary,
// then its 32-bit pairs are scattered with stride MR.
TT_AVX2 void pack_a(const uint8_t* A, int64_t lda, bool a_signed, int64_t i0, int64_t k0,
                    int64_t mc, int64_t kc, void* dst) {
    const int64_t kcp = (kc + 1) & ~int64_t(1), pairs = kcp / 2;
    alignas(32) int16_t row[4096 + 16];
    uint32_t* out = static_cast<uint32_t*>(dst);
    for (int64_t s = 0; s < mc; s += MR, out += MR * pairs) {
        for (int64_t r = 0; r < MR; ++r) {
            if (s + r >= mc) {
                for (int64_t p = 0; p < pairs; ++p) out[p * MR + r] = 0;
                continue;
            }
            const uint8_t* src = A + (i0 + s + r) * lda + k0;
            for (int64_t k0b = 0; k0b < kc; k0b += 4096) {  // the temporary holds 4096 values
                const int64_t n = std::min<int64_t>(4096, kc - k0b);
                int64_t k = 0;
                for (; k + 16 <= n; k += 16) {
                    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k0b + k));
                    const __m256i w = a_signed ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v);
                    _mm256_store_si256(reinterpret_cast<__m256i*>(row + k), w);
                }
                for (; k < n; ++k)
                    row[k] = a_signed ? int16_t(int8_t(src[k0b + k])) : int16_t(src[k0b + k]);
                if (n & 1) row[n] = 0;
                const int64_t np = (n + 1) / 2;
                uint32_t pair;
                for (int64_t p = 0; p < np; ++p) {
                    std::memcpy(&pair, row + 2 * p, 4);
                    out[(k0b / 2 + p) * MR + r] = pair;
                }
            }
        }
    }
}

// 8 x 8 transpose of 32-bit words held in 8 registers (in place).
TT_AVX2 inline void transpose8(__m256i r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; ++i) u[i] = _mm256_castsi256_ps(r[i]);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(u[i], u[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(u[i], u[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; ++i) {
        r[i] = _mm256_castps_si256(_mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
        r[i + 4] = _mm256_castps_si256(_mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
    }
}

// B sliver: element (kp, c) = (W[c][2kp], W[c][2kp+1]) at 32-bit word kp*NR + c:
// the two vectors of one kp step are 16 consecutive pairs. Eight W rows of 16
// k values are widened into eight registers of 8 pairs, transposed, and stored
// as 8 kp rows of 8 columns.
TT_AVX2 void pack_b(const int8_t* W, int64_t ldw, int64_t j0, int64_t k0, int64_t nc,
                    int64_t kc, void* dst) {
    const int64_t kcp = (kc + 1) & ~int64_t(1), pairs = kcp / 2;
    uint32_t* out = static_cast<uint32_t*>(dst);
    for (int64_t s = 0; s < nc; s += NR, out += NR * pairs) {
        for (int64_t c0 = 0; c0 < NR; c0 += 8) {
            const int64_t cols = std::clamp<int64_t>(nc - s - c0, 0, 8);
            int64_t k = 0;
            if (cols == 8) {
                for (; k + 16 <= kc; k += 16) {
                    __m256i r[8];
                    for (int i = 0; i < 8; ++i) {
                        const int8_t* src = W + (j0 + s + c0 + i) * ldw + k0 + k;
                        r[i] = _mm256_cvtepi8_epi16(
                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(src)));
                    }
                    transpose8(r);
                    for (int i = 0; i < 8; ++i)
                        _mm256_storeu_si256(
                            reinterpret_cast<__m256i*>(out + (k / 2 + i) * NR + c0), r[i]);
                }
            }
            for (int64_t p = k / 2; p < pairs; ++p) {  // tails: k, or fewer than 8 columns
                for (int64_t c = 0; c < 8; ++c) {
                    int16_t v[2] = {0, 0};
                    if (c < cols) {
                        const int8_t* src = W + (j0 + s + c0 + c) * ldw + k0;
                        v[0] = src[2 * p];
                        if (2 * p + 1 < kc) v[1] = src[2 * p + 1];
                    }
                    std::memcpy(out + p * NR + c0 + c, v, 4);
                }
            }
        }
    }
}

// The micro-kernel: per pair of k, two B loads, six broadcasts, twelve
// vpmaddwd (16 multiply-adds each) and twelve vpaddd. Zen 3 issues two
// vpmaddwd per cycle (pipes 0 and 3) and the adds on the other two pipes, so
// the loop can reach 32 multiply-adds per cycle: twice the 16 of fp32 FMA.
TT_AVX2 void kernel(int64_t kcp, const void* a_, const void* b_, int32_t* tile) {
    const int32_t* a = static_cast<const int32_t*>(a_);
    const __m256i* b = static_cast<const __m256i*>(b_);
    // Twelve named accumulators: with an array acc[6][2] GCC 12 hoists the six
    // broadcasts above the multiplies and spills accumulators to the stack
    // (measured: no faster than fp32); named variables stay in registers.
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
            c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const int64_t pairs = kcp / 2;
    for (int64_t p = 0; p < pairs; ++p, a += MR, b += 2) {
        const __m256i b0 = _mm256_load_si256(b), b1 = _mm256_load_si256(b + 1);
#define TT_QROW(r)                                                     \
        {                                                              \
            __m256i ar = _mm256_set1_epi32(a[r]);                      \
            __asm__("" : "+x"(ar)); /* one broadcast register, reused */ \
            c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(ar, b0)); \
            c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(ar, b1)); \
        }
        TT_QROW(0) TT_QROW(1) TT_QROW(2) TT_QROW(3) TT_QROW(4) TT_QROW(5)
#undef TT_QROW
    }
    store_tile_6x16(tile, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
}


// (sum of a's lanes, of b's, of c's, of d's): int32 sums of four accumulators
TT_AVX2 inline __m128i hsum4(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_hadd_epi32(a, b);  // a01 a23 b01 b23 | a45 a67 b45 b67
    const __m256i cd = _mm256_hadd_epi32(c, d);
    const __m256i abcd = _mm256_hadd_epi32(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 ...
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

// A few rows (M <= 4: one token, one sample): packing W would cost more than the
// product (every weight is used M times), so W is read in place, 16 int8 at a
// time widened with vpmovsxbw, against A widened once (a16: M rows of kp
// int16, zero padded to a multiple of 16). Four columns share each A load;
// tile[r * 16 + c] receives C[r, j0 + c] for c < cols (<= 16).
TT_AVX2 void gemv_avx2(int64_t M, int64_t K, int64_t kp, const int16_t* a16, const int8_t* W,
                       int64_t ldw, int64_t j0, int64_t cols, int32_t* tile) {
    const int64_t kv = K & ~int64_t(15);
    for (int64_t c0 = 0; c0 < cols; c0 += 4) {
        const int64_t nc = std::min<int64_t>(4, cols - c0);
        __m256i acc[4][4];
        for (int r = 0; r < 4; ++r)
            for (int c = 0; c < 4; ++c) acc[r][c] = _mm256_setzero_si256();
        const int8_t* w[4];
        for (int c = 0; c < 4; ++c) w[c] = W + (j0 + c0 + std::min<int64_t>(c, nc - 1)) * ldw;
        for (int64_t k = 0; k < kv; k += 16) {
            __m256i wv[4];
            for (int c = 0; c < 4; ++c)
                wv[c] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[c] + k)));
            for (int64_t r = 0; r < M; ++r) {
                const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a16 + r * kp + k));
                for (int c = 0; c < 4; ++c)
                    acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(av, wv[c]));
            }
        }
        for (int64_t r = 0; r < M; ++r) {
            // the four columns' 8-lane sums at once (three hadds and one add), not a
            // store and eight scalar adds per column: at K = 128 that reduction was as
            // long as the multiply loop itself
            alignas(16) int32_t sums[4];
            _mm_store_si128(reinterpret_cast<__m128i*>(sums),
                            hsum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
            for (int64_t c = 0; c < nc; ++c) {
                int32_t sum = sums[c];
                for (int64_t k = kv; k < K; ++k) sum += int32_t(a16[r * kp + k]) * w[c][k];
                tile[r * 16 + c0 + c] = sum;
            }
        }
    }
}

// a16[r * kp + k] = A[r, k] widened (zeros past K); kp = K rounded up to 16
TT_AVX2 void widen_rows(const uint8_t* A, int64_t lda, bool a_signed, int64_t M, int64_t K,
                        int64_t kp, int16_t* a16) {
    for (int64_t r = 0; r < M; ++r) {
        for (int64_t k = 0; k < kp; ++k) {
            const uint8_t x = k < K ? A[r * lda + k] : 0;
            a16[r * kp + k] = a_signed ? int16_t(int8_t(x)) : int16_t(x);
        }
    }
}

}  // namespace

void small_m_avx2(int64_t M, int64_t K, const uint8_t* A, int64_t lda, bool a_signed,
                  const int8_t* W, int64_t ldw, int64_t n0, int64_t n1, int16_t* a16,
                  bool widen, const TileSink& sink) {
    const int64_t kp = (K + 15) & ~int64_t(15);
    if (widen) widen_rows(A, lda, a_signed, M, K, kp, a16);
    alignas(64) int32_t tile[4 * 16];
    for (int64_t j = n0; j < n1; j += 16) {
        const int64_t cols = std::min<int64_t>(16, n1 - j);
        gemv_avx2(M, K, kp, a16, W, ldw, j, cols, tile);
        sink.fn(sink.ctx, tile, 16, j, M, cols);
    }
}

TT_AVX2 void accumulate_tile_avx2(int32_t* tile, int64_t ld_tile, int32_t* dst, int64_t ld_dst,
                                  int64_t m, int64_t n, bool first, bool last) {
    for (int64_t r = 0; r < m; ++r) {
        int32_t* t = tile + r * ld_tile;
        int32_t* d = dst + r * ld_dst;
        int64_t c = 0;
        for (; c + 8 <= n; c += 8) {
            __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(t + c));
            if (!first) v = _mm256_add_epi32(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d + c)));
            if (last) _mm256_store_si256(reinterpret_cast<__m256i*>(t + c), v);
            else _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + c), v);
        }
        for (; c < n; ++c) {
            const int32_t v = t[c] + (first ? 0 : d[c]);
            if (last) t[c] = v;
            else d[c] = v;
        }
    }
}

bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

const Path& avx2_path() {
    static const Path path{"avx2", MR, NR, 2, 2, 2, &pack_a, &pack_b, &kernel, false};
    return path;
}

}  // namespace tinytorch::qgemm
