// Python bindings of the attention family (attention.cpp, attention_backward.cpp):
// attention, attention_backward, decode_attention. Every argument is checked
// here -- dtype, rank, contiguity, matching dimensions, the mask's broadcast
// shape, the cache length, the scale, int64 overflow of every output size --
// before any kernel touches memory.
#include <algorithm>
#include <cmath>

#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

static std::string shapes_str(const py::array& q, const py::array& k, const py::array& v) {
    return "q shape " + shape_str(q) + ", k shape " + shape_str(k) + ", v shape " + shape_str(v);
}

// q, k, v, mask and scale of a forward or backward call -> the kernel's shape record.
static AttentionShape check_attention(const py::array& q, const py::array& k, const py::array& v,
                                      const std::optional<py::array>& mask, double scale,
                                      bool causal, const std::string& what) {
    require_float32_c(q, "q", 4);
    require_float32_c(k, "k", 4);
    require_float32_c(v, "v", 4);
    const int64_t B = q.shape(0), H = q.shape(1), Tq = q.shape(2), d = q.shape(3);
    const int64_t Tk = k.shape(2), dv = v.shape(3);
    if (k.shape(0) != B || k.shape(1) != H || v.shape(0) != B || v.shape(1) != H) {
        throw py::value_error(what + ": q, k and v must have the same batch and head "
                              "dimensions (B, H): " + shapes_str(q, k, v));
    }
    if (k.shape(3) != d) {
        throw py::value_error(what + ": q and k must have the same head size d: " +
                              shapes_str(q, k, v));
    }
    if (v.shape(2) != Tk) {
        throw py::value_error(what + ": k and v must have the same number of keys Tk: " +
                              shapes_str(q, k, v));
    }
    require_finite(scale, what, "scale");
    AttentionShape s{B, H, Tq, Tk, d, dv, 1, 1, static_cast<float>(scale), causal};
    if (mask) {
        require_float32_c(*mask, "mask", 4);
        const int64_t Bm = mask->shape(0), Hm = mask->shape(1);
        if ((Bm != 1 && Bm != B) || (Hm != 1 && Hm != H) || mask->shape(2) != Tq ||
            mask->shape(3) != Tk) {
            throw py::value_error(what + ": mask must have shape (1 or B, 1 or H, Tq, Tk) = (1 or " +
                                  std::to_string(B) + ", 1 or " + std::to_string(H) + ", " +
                                  std::to_string(Tq) + ", " + std::to_string(Tk) + "), got " +
                                  shape_str(*mask));
        }
        s.mask_B = Bm;
        s.mask_H = Hm;
    }
    checked_product({B, H, Tq, dv}, what);
    checked_product({B, H, Tq, std::max<int64_t>(Tk, 1), std::max<int64_t>(d + dv, 1)}, what);
    return s;
}

static void require_same_shape(const py::array& a, const char* name,
                               std::initializer_list<int64_t> want, const std::string& what) {
    bool same = a.ndim() == static_cast<py::ssize_t>(want.size());
    py::ssize_t i = 0;
    for (const int64_t w : want) same = same && a.shape(i++) == w;
    if (!same) {
        throw py::value_error(what + ": " + name + " must have shape " + dims_str(want) +
                              ", got " + shape_str(a));
    }
}

static py::tuple attention(const py::array& q, const py::array& k, const py::array& v,
                           const py::object& mask_obj, double scale, bool causal) {
    const auto mask = optional_array(mask_obj, "mask");
    const AttentionShape s = check_attention(q, k, v, mask, scale, causal, "attention");
    py::array_t<float> out({s.B, s.H, s.Tq, s.dv}), lse({s.B, s.H, s.Tq});
    if (s.B * s.H * s.Tq == 0) return py::make_tuple(out, lse);
    const float *pq = float_data(q), *pk = float_data(k), *pv = float_data(v);
    const float* pm = mask ? float_data(*mask) : nullptr;
    float *po = out.mutable_data(), *pl = lse.mutable_data();
    {
        py::gil_scoped_release release;
        attention_forward(pq, pk, pv, pm, s, po, pl);
    }
    return py::make_tuple(out, lse);
}

static py::tuple attention_backward(const py::array& grad_out, const py::array& q,
                                    const py::array& k, const py::array& v, const py::array& out,
                                    const py::array& lse, const py::object& mask_obj,
                                    double scale, bool causal) {
    const std::string what = "attention_backward";
    const auto mask = optional_array(mask_obj, "mask");
    const AttentionShape s = check_attention(q, k, v, mask, scale, causal, what);
    require_float32_c(grad_out, "grad_out", 4);
    require_float32_c(out, "out", 4);
    require_float32_c(lse, "lse", 3);
    require_same_shape(grad_out, "grad_out", {s.B, s.H, s.Tq, s.dv}, what);
    require_same_shape(out, "out", {s.B, s.H, s.Tq, s.dv}, what);
    require_same_shape(lse, "lse", {s.B, s.H, s.Tq}, what);
    checked_product({s.B, s.H, s.Tk, std::max(s.d, s.dv)}, what);
    py::array_t<float> grad_q({s.B, s.H, s.Tq, s.d}), grad_k({s.B, s.H, s.Tk, s.d}),
        grad_v({s.B, s.H, s.Tk, s.dv});
    float *pgq = grad_q.mutable_data(), *pgk = grad_k.mutable_data();
    float* pgv = grad_v.mutable_data();
    if (s.Tq == 0 || s.Tk == 0 || s.B * s.H == 0) {  // nothing attends: every gradient is 0
        std::fill(pgq, pgq + grad_q.size(), 0.0f);
        std::fill(pgk, pgk + grad_k.size(), 0.0f);
        std::fill(pgv, pgv + grad_v.size(), 0.0f);
        return py::make_tuple(grad_q, grad_k, grad_v);
    }
    const float *pg = float_data(grad_out), *pq = float_data(q), *pk = float_data(k);
    const float *pv = float_data(v), *po = float_data(out), *pl = float_data(lse);
    const float* pm = mask ? float_data(*mask) : nullptr;
    {
        py::gil_scoped_release release;
        tinytorch::attention_backward(pg, pq, pk, pv, po, pl, pm, s, pgq, pgk, pgv);
    }
    return py::make_tuple(grad_q, grad_k, grad_v);
}

static py::array_t<float> decode(const py::array& q, const py::array& k_cache,
                                 const py::array& v_cache, int64_t length, double scale) {
    const std::string what = "decode_attention";
    require_float32_c(q, "q", 3);
    require_float32_c(k_cache, "k_cache", 4);
    require_float32_c(v_cache, "v_cache", 4);
    const int64_t B = q.shape(0), H = q.shape(1), d = q.shape(2);
    const int64_t max_len = k_cache.shape(2), dv = v_cache.shape(3);
    const std::string shapes = "q shape " + shape_str(q) + ", k_cache shape " +
                               shape_str(k_cache) + ", v_cache shape " + shape_str(v_cache);
    if (k_cache.shape(0) != B || k_cache.shape(1) != H || k_cache.shape(3) != d ||
        v_cache.shape(0) != B || v_cache.shape(1) != H || v_cache.shape(2) != max_len) {
        throw py::value_error(what + ": need q (B, H, d), k_cache (B, H, max_len, d), v_cache "
                              "(B, H, max_len, dv); got " + shapes);
    }
    if (length < 1 || length > max_len) {
        throw py::value_error(what + ": length must be in [1, max_len] = [1, " +
                              std::to_string(max_len) + "], got " + std::to_string(length) +
                              " (" + shapes + ")");
    }
    require_finite(scale, what, "scale");
    checked_product({B, H, dv}, what);
    py::array_t<float> out({B, H, dv});
    if (B * H * dv == 0) return out;
    const float *pq = float_data(q), *pk = float_data(k_cache), *pv = float_data(v_cache);
    float* po = out.mutable_data();
    const float fscale = static_cast<float>(scale);
    {
        py::gil_scoped_release release;
        decode_attention(pq, pk, pv, B, H, max_len, length, d, dv, fscale, po);
    }
    return out;
}

void bind_attention(py::module_& m) {
    m.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("mask"),
          py::arg("scale"), py::arg("causal"),
          "Tiled scaled dot-product attention (online softmax) on C-contiguous float32 "
          "q (B, H, Tq, d), k (B, H, Tk, d), v (B, H, Tk, dv); mask None or (1|B, 1|H, Tq, Tk). "
          "Returns (out (B, H, Tq, dv), lse (B, H, Tq)).");
    m.def("attention_backward", &attention_backward, py::arg("grad_out"), py::arg("q"),
          py::arg("k"), py::arg("v"), py::arg("out"), py::arg("lse"), py::arg("mask"),
          py::arg("scale"), py::arg("causal"),
          "FlashAttention-2 style backward: scores recomputed tile by tile from q, k and lse. "
          "Returns (grad_q, grad_k, grad_v).");
    m.def("decode_attention", &decode, py::arg("q"), py::arg("k_cache"), py::arg("v_cache"),
          py::arg("length"), py::arg("scale"),
          "One query per (batch, head), q (B, H, d), against the first `length` positions of "
          "the caches (B, H, max_len, d | dv). Returns (B, H, dv).");
}

}  // namespace tinytorch::bind
