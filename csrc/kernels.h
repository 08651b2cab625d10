// Plain C++ kernel signatures: raw pointers, sizes, out-params. No pybind11 here.
//
// Every kernel assumes its caller (the bind_*.cpp files) has already checked
// dtype, shape and contiguity. Row-major storage throughout.
#pragma once
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinytorch {

// ---- course exercises -------------------------------------------------------
// The student release replaces the body of every exercise (between the
// BEGIN/END SOLUTION markers) by `throw NotImplemented("Module 15 (...)...")`;
// bindings.cpp turns it into Python's NotImplementedError.
struct NotImplemented : std::logic_error {
    using std::logic_error::logic_error;
};

// An exception that leaves an OpenMP parallel region ends the process
// (std::terminate), so a region whose body may throw -- it reaches an exercise
// (a NotImplemented placeholder in a student release) or allocates -- runs the
// body through ParallelErrors::run, and the thread that started the region
// calls rethrow() after it: the first exception reaches Python as an error.
class ParallelErrors {
public:
    template <class F>
    void run(F&& body) noexcept {
        try {
            body();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!first_) first_ = std::current_exception();
        }
    }
    void rethrow() const {
        if (first_) std::rethrow_exception(first_);
    }

private:
    std::mutex mutex_;
    std::exception_ptr first_;
};

// ---- build information (build_info.cpp) ------------------------------------
struct BuildInfo {
    std::string compiler;
    std::string simd;        // "AVX-512", "AVX2", or "scalar"
    bool vnni;               // AVX-512 VNNI int8 dot products compiled in
    bool native_arch;        // built with -march=native
    bool sanitize;           // built with -fsanitize=address,undefined (TINYTORCH_SANITIZE)
    bool openmp;
    int max_threads;         // OpenMP threads a kernel may use (1 without OpenMP)
};
BuildInfo build_info();
void set_num_threads(int n);  // clamped to [1, cpu_count()]
int cpu_count();              // CPUs OpenMP may use (omp_get_num_procs)
void cap_num_threads();       // lower an OMP_NUM_THREADS above cpu_count()
int get_num_threads();

// ---- matmul.cpp -------------------------------------------------------------
// C[M,N] = op(A)[M,K] @ op(B)[K,N]   (C is overwritten)
// op(A) = A      when !trans_a, A stored (M,K) with row stride lda
// op(A) = A^T    when  trans_a, A stored (K,M) with row stride lda
// likewise for B. Loop nest computed:
//   for i in M: for j in N: C[i,j] = sum_k op(A)[i,k] * op(B)[k,j]
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
           const float* A, int64_t lda, const float* B, int64_t ldb,
           float* C, int64_t ldc);
// sgemm with at most max_threads OpenMP threads (1 = one core, Module 15's
// "packed + SIMD" step).
void sgemm_threads(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float* A, int64_t lda, const float* B, int64_t ldb,
                   float* C, int64_t ldc, int max_threads);
// The same product for M <= 4 rows without packing B (gemm_small.cpp); returns
// false (and does nothing) for other shapes.
bool sgemm_small(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                 const float* A, int64_t lda, const float* B, int64_t ldb,
                 float* C, int64_t ldc, int max_threads);
// for b in batch: C + b*stride_c = op(A + b*stride_a) @ op(B + b*stride_b)
void sgemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float* A, int64_t stride_a, int64_t lda,
                   const float* B, int64_t stride_b, int64_t ldb,
                   float* C, int64_t stride_c, int64_t ldc);

// ---- gemm_blocking.cpp: cache blocking derived from this CPU's caches --------
struct GemmBlocking {
    int64_t kc, mc, nc;    // K depth of a rank-KC update, rows of an A block, columns of a B panel
    int64_t mr, nr;        // the register tile of the micro-kernel (compile time)
    int64_t l1d, l2, l3;   // cache sizes in bytes the tiles were derived from
    const char* source;    // "sysfs", "sysconf", "defaults" or "set_gemm_blocking"
};
// Computed once at first use; set_gemm_blocking (0 = derive that one) replaces
// it for the whole process (Module 15 exercise: change KC and measure) and
// returns the new blocking. Not thread-safe against a running sgemm.
const GemmBlocking& gemm_blocking();
GemmBlocking set_gemm_blocking(int64_t kc, int64_t mc, int64_t nc);
// The AVX2 12 x 8 pair-broadcast tile (gemm_pairs.cpp) for large products:
// on by default; false makes every product use the MR x NR tile (Module 15
// measures one against the other). Returns whether this build has the tile
// (AVX2 without AVX-512); elsewhere the call changes nothing.
bool set_gemm_pair_tile(bool enabled);
bool gemm_pair_tile_enabled();  // built and switched on
// Large threaded products on the pair tile hand their (B panel, A block)
// items to whichever thread is free instead of one fixed row range per thread
// (gemm_pairs_dynamic): on by default; false restores the static split. Returns
// whether this build has it (the same builds as the pair tile).
bool set_gemm_dynamic(bool enabled);
bool gemm_dynamic_enabled();  // built and switched on
// GFLOP/s of one core running independent register FMAs for about `seconds`.
double fma_peak_gflops(double seconds);

// ---- matmul_steps.cpp: the Module 15 road, one function per step -----------
// A: (M,K), B: (K,N), C: (M,N), all C-contiguous; C is overwritten.
void matmul_naive(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);
void matmul_reordered(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);
void matmul_blocked(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);

// ---- softmax.cpp ------------------------------------------------------------
// y[r, :] = exp(x[r, :] - max(x[r, :])) / sum(exp(x[r, :] - max(x[r, :])))
// x, y: (rows, cols), contiguous.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);
// y[r, :] = x[r, :] - max(x[r, :]) - log(sum(exp(x[r, :] - max(x[r, :]))))
void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);

// ---- conv.cpp, pool.cpp (Module 08) ---------------------------------------
// x: (N, C, H, W), weight: (F, C, KH, KW), y: (N, F, OH, OW), all C-contiguous;
// OH = (H + 2*pad_h - dil_h*(KH-1) - 1) / stride_h + 1 (likewise OW).
// Pooling uses the same struct with F == C and dilation 1.
struct Conv2dShape {
    int64_t N, C, H, W;
    int64_t F, KH, KW;
    int64_t OH, OW;
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
};
// One image x: (C, H, W). cols[(c - c0)*KH*KW + kh*KW + kw, p - p0] for channels
// [c0, c1) and output pixels p = oh*OW + ow in [p0, p1) holds
// x[c, oh*stride_h - pad_h + kh*dil_h, ow*stride_w - pad_w + kw*dil_w] (0 in the padding).
void im2col(const float* x, const Conv2dShape& s, int64_t c0, int64_t c1, int64_t p0,
            int64_t p1, float* cols);
// The adjoint: x[c, ih, iw] += every cols entry that im2col copied from there.
void col2im(const float* cols, const Conv2dShape& s, int64_t c0, int64_t c1, int64_t p0,
            int64_t p1, float* x);
// y = conv2d(x, weight), no bias: y[n, f, oh, ow] = sum_{c,kh,kw} x[n, c, ih, iw] * w[f, c, kh, kw]
// `algorithm`: im2col + sgemm (any geometry), the direct convolution of
// conv_direct.cpp (stride_w == 1 only: conv2d_direct_applies), or Winograd
// F(2x2, 3x3) of conv_winograd.cpp (3x3, unit stride and dilation:
// conv2d_winograd_applies); automatic picks Winograd where it applies and pays
// (conv2d_winograd_pays: C, F >= 32, C*F >= 2048, and an image's 2x2 blocks
// fill at least 60% of the micro-kernel's NR-wide slivers), else direct
// where it applies.
enum class ConvAlgorithm { automatic, im2col, direct, winograd };
bool conv2d_direct_applies(const Conv2dShape& s);
void conv2d_direct(const float* x, const float* weight, float* y, const Conv2dShape& s);
bool conv2d_winograd_applies(const Conv2dShape& s);
bool conv2d_winograd_pays(const Conv2dShape& s);
void conv2d_winograd(const float* x, const float* weight, float* y, const Conv2dShape& s);
void conv2d_forward(const float* x, const float* weight, float* y, const Conv2dShape& s,
                    ConvAlgorithm algorithm = ConvAlgorithm::automatic);
// grad_x (N, C, H, W) = dL/dx given grad_out (N, F, OH, OW)   (grad_x is overwritten)
// With unit strides (and padding within the kernel's reach) it is a stride-1
// convolution of grad_out with the flipped weights (conv.cpp), computed by
// `algorithm` as conv2d_forward would: automatic, direct or winograd (where
// that convolution admits it); im2col is the im2col + col2im path, which
// every geometry takes otherwise.
bool conv2d_backward_input_applies(const Conv2dShape& s, ConvAlgorithm algorithm);
void conv2d_backward_input(const float* grad_out, const float* weight, float* grad_x,
                           const Conv2dShape& s,
                           ConvAlgorithm algorithm = ConvAlgorithm::automatic);
// grad_w (F, C, KH, KW) = dL/dweight, summed over the batch      (grad_w is overwritten)
// `algorithm`: im2col + sgemm (any geometry), or direct (conv_wgrad.cpp: the
// sgemm's A slivers packed straight from the padded image, on the AVX2 pair
// tile where it is on, else the MR x NR tile), where
// conv2d_weight_direct_applies: horizontal stride 1, output rows of at most KC
// pixels, C*KH*KW >= 24, F >= 64, at least 128 pixels per work item;
// automatic picks direct where it applies.
bool conv2d_weight_direct_applies(const Conv2dShape& s);
void conv2d_backward_weight_direct(const float* grad_out, const float* x, float* grad_w,
                                   const Conv2dShape& s);
void conv2d_backward_weight(const float* grad_out, const float* x, float* grad_w,
                            const Conv2dShape& s,
                            ConvAlgorithm algorithm = ConvAlgorithm::automatic);
// indices[n, c, oh, ow] = ih*W + iw of the window maximum (first of ties, first NaN)
void max_pool2d_forward(const float* x, float* y, int64_t* indices, const Conv2dShape& s);
void max_pool2d_backward(const float* grad_out, const int64_t* indices, float* grad_x,
                         const Conv2dShape& s);
void avg_pool2d_forward(const float* x, float* y, const Conv2dShape& s);
void avg_pool2d_backward(const float* grad_out, float* grad_x, const Conv2dShape& s);

// ---- norm.cpp (Module 14) ---------------------------------------------------
// x, y: (M, D); weight, bias: (D,) or nullptr (1 and 0); mean, rstd: (M,).
//   for m in M: mean[m] = sum(x[m, :]) / D,  var = sum((x[m, :] - mean[m])^2) / D,
//               rstd[m] = 1 / sqrt(var + eps),
//               y[m, d] = (x[m, d] - mean[m]) * rstd[m] * weight[d] + bias[d]
void layer_norm_forward(const float* x, const float* weight, const float* bias, float eps,
                        int64_t M, int64_t D, float* y, float* mean, float* rstd);
// grad_x: (M, D) is overwritten; with xhat = (x - mean) * rstd and g = grad_y * weight:
//   grad_x[m, d] = rstd[m] * (g[m, d] - mean(g[m, :]) - xhat[m, d] * mean(g[m, :] * xhat[m, :]))
// and when weight != nullptr also grad_weight[d] = sum_m grad_y[m, d] * xhat[m, d],
// grad_bias[d] = sum_m grad_y[m, d] (both (D,), overwritten).
void layer_norm_backward(const float* grad_y, const float* x, const float* weight,
                         const float* mean, const float* rstd, int64_t M, int64_t D,
                         float* grad_x, float* grad_weight, float* grad_bias);

// ---- attention.cpp, attention_backward.cpp (Modules 13, 16) ----------------
// q: (B, H, Tq, d), k: (B, H, Tk, d), v: (B, H, Tk, dv), out: (B, H, Tq, dv),
// lse: (B, H, Tq); mask: nullptr or (mask_B, mask_H, Tq, Tk), added to the
// scores, mask_B in {1, B} and mask_H in {1, H} (1 = broadcast).
//   s[i, j] = scale * q[i] . k[j] + mask[i, j]   for j <= i when causal, else -inf
//   out[i] = sum_j softmax_j(s[i, :]) v[j],  lse[i] = log sum_j exp(s[i, j])
// A row that sees no key gets out = 0, lse = -inf (and zero gradients).
struct AttentionShape {
    int64_t B, H, Tq, Tk, d, dv;
    int64_t mask_B, mask_H;
    float scale;
    bool causal;
};
void attention_forward(const float* q, const float* k, const float* v, const float* mask,
                       const AttentionShape& s, float* out, float* lse);
// grad_q, grad_k, grad_v (shaped like q, k, v) are overwritten; with
// p[i, j] = exp(s[i, j] - lse[i]) and D[i] = grad_out[i] . out[i]:
//   grad_v[j] += p[i, j] grad_out[i];  ds = p[i, j] (grad_out[i] . v[j] - D[i])
//   grad_q[i] += scale ds k[j];        grad_k[j] += scale ds q[i]
void attention_backward(const float* grad_out, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* mask,
                        const AttentionShape& s, float* grad_q, float* grad_k, float* grad_v);
// q: (B, H, d), k_cache: (B, H, max_len, d), v_cache: (B, H, max_len, dv),
// 1 <= length <= max_len, out: (B, H, dv):
//   out[b, h] = softmax_j(scale * q[b, h] . k_cache[b, h, j]) @ v_cache[b, h, :length]
void decode_attention(const float* q, const float* k_cache, const float* v_cache, int64_t B,
                      int64_t H, int64_t max_len, int64_t length, int64_t d, int64_t dv,
                      float scale, float* out);

// ---- decode.cpp (Module 16): a whole GPT decode step in one call -------------
// A Linear of the model: fp32 weight w (out, in), or int8 w8 (out, in) with
// per-output w_scale / w_colsum and dynamic uint8 activations (per row or per
// tensor, 8 or 7 bits), as QuantizedLinear; bias (out,) or nullptr.
struct DecodeLinear {
    int64_t in = 0, out = 0;
    const float* w = nullptr;
    const int8_t* w8 = nullptr;
    const float* w_scale = nullptr;
    const int32_t* w_colsum = nullptr;
    bool per_row = false;
    bool reduce_range = false;   // activations to 7 bits (0..127)
    const float* bias = nullptr;
};
// One pre-norm TransformerBlock; k_cache, v_cache: (B, H, max_len, E / H), written
// at the step's position.
struct DecodeBlock {
    const float *ln1_w = nullptr, *ln1_b = nullptr, *ln2_w = nullptr, *ln2_b = nullptr;
    float eps1 = 1e-5f, eps2 = 1e-5f;
    DecodeLinear qkv, proj, fc, mlp_proj;
    float* k_cache = nullptr;
    float* v_cache = nullptr;
};
struct DecodeModel {
    int64_t B = 0, E = 0, H = 0, max_len = 0, block_size = 0, vocab = 0;
    const float* wte = nullptr;  // (vocab, E)
    const float* wpe = nullptr;  // (block_size, E)
    std::vector<DecodeBlock> blocks;
    const float *lnf_w = nullptr, *lnf_b = nullptr;
    float eps_f = 1e-5f;
    DecodeLinear head;           // (vocab, E)
};
// Buffers of one step, sized once by reserve() for a model.
struct DecodeScratch {
    std::vector<float> x, h, q, att, qkv, f, g, mean, rstd, a_scale;
    std::vector<uint8_t> codes;
    std::vector<int32_t> a_zp;
    void reserve(const DecodeModel& m);
};
// logits (B, vocab) of tokens (B,) at position pos (0 <= pos < min(max_len,
// block_size)); every block's k and v of this position are written into its
// cache, positions 0..pos are attended to. The caller has checked every shape.
void gpt_decode_step(const DecodeModel& m, const int64_t* tokens, int64_t pos, float* logits,
                     DecodeScratch& s);

// ---- activation.cpp (Modules 03, 15) -----------------------------------------
// x, y, grad, grad_x: n contiguous floats; tanh_form picks GPT-2's approximation.
//   y = x * Phi(x)  (or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))));  grad_x = grad * dy/dx
void gelu_forward(const float* x, float* y, int64_t n, bool tanh_form);
void gelu_backward(const float* grad, const float* x, float* grad_x, int64_t n, bool tanh_form);

// ---- sparse.cpp (Module 18) --------------------------------------------------
// A (M, K) in CSR: values, col_indices (nnz,), row_ptr (M + 1,); B: (K, N), C: (M, N),
// row-major, C overwritten:
//   for i in M: C[i, :] = sum over p in [row_ptr[i], row_ptr[i+1]) of values[p] * B[col_indices[p], :]
void csr_matmul(const float* values, const int32_t* col_indices, const int32_t* row_ptr,
                int64_t M, int64_t N, const float* B, float* C);
// ---- qgemm.cpp, quantize.cpp (Module 17) ---------------------------------------
// C[M,N] (int32) = A[M,K] @ W[N,K]^T exactly: A uint8 (a_signed = false) or int8
// (the same bytes, read as signed), W int8, row strides lda / ldw / ldc; the
// caller keeps K <= 65535 so no int32 sum can overflow.
void qgemm_s32(bool a_signed, int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda,
               const int8_t* W, int64_t ldw, int32_t* C, int64_t ldc);
// The same product with the fused epilogue (qgemm.h, quantize.cpp):
//   y[i,j] = (acc - a_zp[i] * w_colsum[j]) * a_scale[i] * w_scale[j] + bias[j], ReLU if relu;
// out_kind 0: float32 out; 1 / 2: requantized to int8 / uint8 with out_scale, out_zp.
// out is M x N contiguous; K <= 32768.
void qlinear(bool a_signed, int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda,
             const int8_t* W, int64_t ldw, const float* a_scale, const int32_t* a_zp,
             const float* w_scale, const int32_t* w_colsum, const float* bias, bool relu,
             int out_kind, float out_scale, int32_t out_zp, void* out);
// Dynamic quantization of x (M x K contiguous floats), per row (scale, zp: M values)
// or per tensor (1 value each), to uint8 (or int8 when to_signed), MinMaxObserver
// arithmetic; reduce_range drops one bit.
void quantize_dynamic_rows(const float* x, int64_t M, int64_t K, bool per_row, bool to_signed,
                           bool reduce_range, uint8_t* q, float* scale, int32_t* zp);
// Static quantization fused with im2col (QuantizedConv2d): x (N, C, H, W) float32 ->
// codes (N*OH*OW, KH*KW*C), row (n*OH + oh)*OW + ow, column (kh*KW + kw)*C + c,
// q = clamp(nearbyint(fma(x, 1/scale, zp)), qmin, qmax); padding pixels get zp (the
// code of 0.0). Channels last, so a receptive field row is KH runs of KW*C bytes.
void quantize_im2col(const float* x, const Conv2dShape& s, float scale, int32_t zp,
                     int32_t qmin, int32_t qmax, uint8_t* out);
// QuantizedConv2d's forward: quantize_im2col, then the int8 GEMM against w (F x KH*KW*C,
// the same (kh, kw, c) column order) with the float32 epilogue of qlinear (per-tensor
// a_scale / a_zp), written straight into y (N, F, OH, OW). K = KH*KW*C <= 32768.
void qconv2d(const float* x, const Conv2dShape& s, float a_scale, int32_t a_zp,
             const int8_t* w, const float* w_scale, const int32_t* w_colsum, const float* bias,
             bool relu, float* y);
// Which instruction-set path the int8 GEMM uses ("avx512_vnni", "avx_vnni", "avx2",
// "scalar"); set_qgemm_path forces one ("auto" undoes it), false when unavailable here.
std::string qgemm_path();
bool set_qgemm_path(const std::string& name);

}  // namespace tinytorch
