// Module 16: one GPT decode step -- embedding, every block, the final norm and
// the head -- in ONE native call (kernels.h: gpt_decode_step).
//
// Why: a cached decode step of a small model is a few hundred thousand
// multiply-adds, microseconds of arithmetic, but through the Module stack it is
// ~14 kernel calls per block, each wrapped in Python: argument checks, Tensor
// objects, reshapes, the autograd bookkeeping a no_grad region still pays. On
// TinyGPT that overhead is most of the 1-2 ms a token costs. This file calls
// the SAME kernels in the same order the Python path calls them (sgemm with
// W^T read in place, layer_norm_forward, decode_attention, gelu_forward,
// qlinear for an int8 layer), so a fused step gives the same numbers as the
// unfused one; only the interpreter between them is gone. llama.cpp runs its
// whole graph this way.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels.h"

namespace tinytorch {

namespace {

// y (M, out) = x (M, in) @ W^T + bias, W (out, in): nn.Linear's product, or the
// int8 QuantizedLinear's (dynamic activations, per row or per tensor).
void linear(const DecodeLinear& L, const float* x, int64_t M, float* y, DecodeScratch& s) {
    if (L.w) {
        sgemm(false, true, M, L.out, L.in, x, L.in, L.w, L.in, y, L.out);
    } else {
        float* scale = s.a_scale.data();
        int32_t* zp = s.a_zp.data();
        quantize_dynamic_rows(x, M, L.in, L.per_row, false, L.reduce_range, s.codes.data(), scale,
                              zp);
        if (!L.per_row) {  // one scale for the tensor: every row uses it
            std::fill(scale + 1, scale + M, scale[0]);
            std::fill(zp + 1, zp + M, zp[0]);
        }
        // the bias goes into the epilogue, as QuantizedLinear passes it
        qlinear(false, M, L.out, L.in, s.codes.data(), L.in, L.w8, L.in, scale, zp, L.w_scale,
                L.w_colsum, L.bias, false, 0, 1.0f, 0, y);
        return;
    }
    if (L.bias) {  // after the product, as nn.Linear adds it
        for (int64_t r = 0; r < M; ++r) {
            float* row = y + r * L.out;
            for (int64_t j = 0; j < L.out; ++j) row[j] += L.bias[j];
        }
    }
}

void add_into(float* x, const float* a, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += a[i];
}

}  // namespace

void gpt_decode_step(const DecodeModel& m, const int64_t* tokens, int64_t pos, float* logits,
                     DecodeScratch& s) {
    const int64_t B = m.B, E = m.E, H = m.H, d = E / H;
    if (pos < 0 || pos >= m.max_len || pos >= m.block_size) {
        throw std::out_of_range("gpt_decode_step: position " + std::to_string(pos) +
                                " is outside the cache (max_len " + std::to_string(m.max_len) +
                                ", block_size " + std::to_string(m.block_size) + ")");
    }
    for (int64_t b = 0; b < B; ++b) {
        if (tokens[b] < 0 || tokens[b] >= m.vocab) {
            throw std::out_of_range("gpt_decode_step: token id " + std::to_string(tokens[b]) +
                                    " is out of range for vocab_size " + std::to_string(m.vocab));
        }
    }
    float* x = s.x.data();
    float* h = s.h.data();
    // token embedding + position embedding (GPT.forward: one add of two rows)
    for (int64_t b = 0; b < B; ++b) {
        const float* te = m.wte + tokens[b] * E;
        const float* pe = m.wpe + pos * E;
        for (int64_t i = 0; i < E; ++i) x[b * E + i] = te[i] + pe[i];
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    for (const DecodeBlock& blk : m.blocks) {
        // x = x + proj(attention(ln_1(x)))
        layer_norm_forward(x, blk.ln1_w, blk.ln1_b, blk.eps1, B, E, h, s.mean.data(),
                           s.rstd.data());
        linear(blk.qkv, h, B, s.qkv.data(), s);
        for (int64_t b = 0; b < B; ++b) {  // row (3, H, d): q -> scratch, k and v -> cache
            const float* row = s.qkv.data() + b * 3 * E;
            std::memcpy(s.q.data() + b * E, row, sizeof(float) * E);
            for (int64_t hh = 0; hh < H; ++hh) {
                const int64_t at = ((b * H + hh) * m.max_len + pos) * d;
                std::memcpy(blk.k_cache + at, row + E + hh * d, sizeof(float) * d);
                std::memcpy(blk.v_cache + at, row + 2 * E + hh * d, sizeof(float) * d);
            }
        }
        decode_attention(s.q.data(), blk.k_cache, blk.v_cache, B, H, m.max_len, pos + 1, d, d,
                         scale, s.att.data());
        linear(blk.proj, s.att.data(), B, h, s);
        add_into(x, h, B * E);
        // x = x + mlp_proj(gelu(fc(ln_2(x))))
        layer_norm_forward(x, blk.ln2_w, blk.ln2_b, blk.eps2, B, E, h, s.mean.data(),
                           s.rstd.data());
        const int64_t hidden = blk.fc.out;
        linear(blk.fc, h, B, s.f.data(), s);
        gelu_forward(s.f.data(), s.g.data(), B * hidden, true);
        linear(blk.mlp_proj, s.g.data(), B, h, s);
        add_into(x, h, B * E);
    }
    layer_norm_forward(x, m.lnf_w, m.lnf_b, m.eps_f, B, E, h, s.mean.data(), s.rstd.data());
    linear(m.head, h, B, logits, s);
}

void DecodeScratch::reserve(const DecodeModel& m) {
    const int64_t B = m.B, E = m.E;
    int64_t widest = std::max<int64_t>(E, m.head.in);
    int64_t hidden = 1;
    for (const DecodeBlock& blk : m.blocks) {
        hidden = std::max(hidden, blk.fc.out);
        widest = std::max({widest, blk.fc.out, blk.mlp_proj.in, blk.qkv.in, blk.proj.in});
    }
    x.assign(B * E, 0.0f);
    h.assign(B * E, 0.0f);
    q.assign(B * E, 0.0f);
    att.assign(B * E, 0.0f);
    qkv.assign(B * 3 * E, 0.0f);
    f.assign(B * hidden, 0.0f);
    g.assign(B * hidden, 0.0f);
    mean.assign(B, 0.0f);
    rstd.assign(B, 0.0f);
    codes.assign(B * widest, 0);
    a_scale.assign(B, 0.0f);
    a_zp.assign(B, 0);
}

}  // namespace tinytorch
