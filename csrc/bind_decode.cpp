// Binding of the fused GPT decode step (decode.cpp): a DecodePlan is built once
// per generation from the model's arrays -- every shape, dtype and contiguity
// checked here, once -- and then step(tokens, pos) runs a whole token through
// the model in one call, the GIL released.
#include <memory>
#include <mutex>

#include "bind_common.h"
#include "kernels.h"

namespace tinytorch::bind {

namespace {

constexpr int64_t MAX_K_INT8 = 32768;  // qlinear's bound on K (kernels.h)

class DecodePlan {
public:
    DecodePlan(const py::array& wte, const py::array& wpe, int64_t n_head,
               const py::list& blocks, const py::dict& ln_f, const py::dict& head) {
        require_float32_c(wte, "wte", 2);
        require_float32_c(wpe, "wpe", 2);
        m_.vocab = wte.shape(0);
        m_.E = wte.shape(1);
        m_.block_size = wpe.shape(0);
        if (m_.vocab < 1 || m_.E < 1 || m_.block_size < 1) {
            throw py::value_error(what_ + ": wte " + shape_str(wte) + " and wpe " + shape_str(wpe) +
                                  " must not be empty");
        }
        if (wpe.shape(1) != m_.E) {
            throw py::value_error(what_ + ": wpe must have shape (block_size, " +
                                  std::to_string(m_.E) + ") to match wte, got " + shape_str(wpe));
        }
        if (n_head < 1 || m_.E % n_head) {
            throw py::value_error(what_ + ": n_head " + std::to_string(n_head) +
                                  " must be >= 1 and divide n_embd " + std::to_string(m_.E));
        }
        if (blocks.size() == 0) throw py::value_error(what_ + ": the model has no blocks");
        m_.H = n_head;
        m_.wte = keep_float(wte);
        m_.wpe = keep_float(wpe);
        const int64_t E = m_.E, d = E / n_head;
        for (size_t i = 0; i < blocks.size(); ++i) {
            const std::string at = "blocks[" + std::to_string(i) + "]";
            const py::dict blk = as_dict(blocks[i], at);
            DecodeBlock b;
            norm(item(blk, "ln_1", at), at + ".ln_1", b.ln1_w, b.ln1_b, b.eps1);
            norm(item(blk, "ln_2", at), at + ".ln_2", b.ln2_w, b.ln2_b, b.eps2);
            b.qkv = linear(item(blk, "qkv", at), at + ".qkv", E, 3 * E);
            b.proj = linear(item(blk, "proj", at), at + ".proj", E, E);
            b.fc = linear(item(blk, "fc", at), at + ".fc", E, -1);
            b.mlp_proj = linear(item(blk, "mlp_proj", at), at + ".mlp_proj", b.fc.out, E);
            b.k_cache = cache(item(blk, "k_cache", at), at + ".k_cache", d);
            b.v_cache = cache(item(blk, "v_cache", at), at + ".v_cache", d);
            m_.blocks.push_back(b);
        }
        norm(ln_f, "ln_f", m_.lnf_w, m_.lnf_b, m_.eps_f);
        m_.head = linear(head, "head", E, m_.vocab);
        scratch_.reserve(m_);
    }

    py::array_t<float> step(const py::array& tokens, int64_t pos) {
        require_dtype(tokens, "tokens", 'i', 8, "int64");
        require_ndim(tokens, "tokens", 1);
        require_c_contiguous(tokens, "tokens");
        if (tokens.shape(0) != m_.B) {
            throw py::value_error(what_ + ": tokens must have shape (" + std::to_string(m_.B) +
                                  ",), one per cached sequence, got " + shape_str(tokens));
        }
        const int64_t limit = std::min(m_.max_len, m_.block_size);
        if (pos < 0 || pos >= limit) {
            throw py::index_error(what_ + ": position " + std::to_string(pos) +
                                  " is outside the cache: 0 <= pos < " + std::to_string(limit) +
                                  " (max_len " + std::to_string(m_.max_len) + ", block_size " +
                                  std::to_string(m_.block_size) + ")");
        }
        const auto* ids = static_cast<const int64_t*>(tokens.data());
        for (int64_t b = 0; b < m_.B; ++b) {
            if (ids[b] < 0 || ids[b] >= m_.vocab) {
                throw py::index_error(what_ + ": token id " + std::to_string(ids[b]) +
                                      " is out of range for vocab_size " +
                                      std::to_string(m_.vocab));
            }
        }
        std::vector<int64_t> copy(ids, ids + m_.B);
        py::array_t<float> logits({m_.B, m_.vocab});
        float* out = logits.mutable_data();
        {
            py::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(mutex_);  // one step at a time per plan
            gpt_decode_step(m_, copy.data(), pos, out, scratch_);
        }
        return logits;
    }

    int64_t batch_size() const { return m_.B; }
    int64_t max_len() const { return m_.max_len; }

private:
    const std::string what_ = "DecodePlan";
    DecodeModel m_;
    DecodeScratch scratch_;
    std::vector<py::object> keep_;  // every array the plan points into stays alive
    std::mutex mutex_;

    static py::dict as_dict(const py::handle& h, const std::string& at) {
        if (!py::isinstance<py::dict>(h)) {
            throw py::type_error("DecodePlan: " + at + " must be a dict");
        }
        return h.cast<py::dict>();
    }
    static py::object item(const py::dict& d, const char* key, const std::string& at) {
        if (!d.contains(key)) {
            throw py::key_error("DecodePlan: " + at + " has no '" + key + "'");
        }
        return d[key];
    }
    static py::array as_array(const py::object& o, const std::string& name) {
        if (!py::isinstance<py::array>(o)) {
            throw py::type_error("DecodePlan: " + name + " must be a numpy array, got " +
                                 py::str(py::type::of(o)).cast<std::string>());
        }
        return o.cast<py::array>();
    }
    const float* keep_float(const py::array& a) {
        keep_.push_back(a);
        return float_data(a);
    }
    // a float32 (n,) vector, or nullptr for None
    const float* vector(const py::object& o, const std::string& name, int64_t n,
                        bool allow_none) {
        if (o.is_none()) {
            if (allow_none) return nullptr;
            throw py::type_error("DecodePlan: " + name + " must be an array, got None");
        }
        const py::array a = as_array(o, name);
        require_float32_c(a, name.c_str(), 1);
        if (a.shape(0) != n) {
            throw py::value_error("DecodePlan: " + name + " must have shape (" +
                                  std::to_string(n) + ",), got " + shape_str(a));
        }
        return keep_float(a);
    }
    void norm(const py::object& o, const std::string& at, const float*& w, const float*& b,
              float& eps) {
        const py::dict d = as_dict(o, at);
        w = vector(item(d, "weight", at), at + ".weight", m_.E, true);
        b = vector(item(d, "bias", at), at + ".bias", m_.E, true);
        const double e = item(d, "eps", at).cast<double>();
        if (!(e > 0) || !std::isfinite(e)) {
            throw py::value_error("DecodePlan: " + at + ".eps must be positive, got " +
                                  std::to_string(e));
        }
        eps = static_cast<float>(e);
    }
    // (out, in) weights; out == -1 accepts any width (the MLP's hidden size)
    DecodeLinear linear(const py::object& o, const std::string& at, int64_t in, int64_t out) {
        const py::dict d = as_dict(o, at);
        DecodeLinear L;
        const bool int8 = d.contains("weight_int8");
        const py::array w = as_array(item(d, int8 ? "weight_int8" : "weight", at), at +
                                     ".weight");
        if (int8) require_dtype(w, (at + ".weight_int8").c_str(), 'i', 1, "int8");
        else require_float32(w, (at + ".weight").c_str());
        require_ndim(w, (at + ".weight").c_str(), 2);
        require_c_contiguous(w, (at + ".weight").c_str());
        if (w.shape(1) != in || (out >= 0 && w.shape(0) != out) || w.shape(0) < 1) {
            throw py::value_error("DecodePlan: " + at + ".weight must have shape (" +
                                  (out >= 0 ? std::to_string(out) : std::string("hidden")) +
                                  ", " + std::to_string(in) + "), got " + shape_str(w));
        }
        L.in = in;
        L.out = w.shape(0);
        keep_.push_back(w);
        if (int8) {
            if (in > MAX_K_INT8) {
                throw py::value_error("DecodePlan: " + at + " has " + std::to_string(in) +
                                      " inputs; the int8 GEMM takes at most 32768");
            }
            L.w8 = static_cast<const int8_t*>(w.data());
            L.w_scale = vector(item(d, "weight_scale", at), at + ".weight_scale", L.out, false);
            const py::array c = as_array(item(d, "weight_colsum", at), at + ".weight_colsum");
            require_dtype(c, (at + ".weight_colsum").c_str(), 'i', 4, "int32");
            require_ndim(c, (at + ".weight_colsum").c_str(), 1);
            require_c_contiguous(c, (at + ".weight_colsum").c_str());
            if (c.shape(0) != L.out) {
                throw py::value_error("DecodePlan: " + at + ".weight_colsum must have shape (" +
                                      std::to_string(L.out) + ",), got " + shape_str(c));
            }
            keep_.push_back(c);
            L.w_colsum = static_cast<const int32_t*>(c.data());
            L.per_row = item(d, "per_row", at).cast<bool>();
            L.reduce_range = d.contains("reduce_range") && d["reduce_range"].cast<bool>();
        } else {
            L.w = float_data(w);
        }
        L.bias = d.contains("bias") ? vector(d["bias"], at + ".bias", L.out, true) : nullptr;
        return L;
    }
    float* cache(const py::object& o, const std::string& name, int64_t d) {
        py::array a = as_array(o, name);
        require_float32_c(a, name.c_str(), 4);
        if (!a.writeable()) throw py::value_error("DecodePlan: " + name + " is read-only");
        if (a.shape(1) != m_.H || a.shape(3) != d || a.shape(0) < 1 || a.shape(2) < 1) {
            throw py::value_error("DecodePlan: " + name + " must have shape (batch, " +
                                  std::to_string(m_.H) + ", max_len, " + std::to_string(d) +
                                  "), got " + shape_str(a));
        }
        if (m_.B == 0) {
            m_.B = a.shape(0);
            m_.max_len = a.shape(2);
        } else if (a.shape(0) != m_.B || a.shape(2) != m_.max_len) {
            throw py::value_error("DecodePlan: " + name + " has shape " + shape_str(a) +
                                  "; every cache must have batch " + std::to_string(m_.B) +
                                  " and max_len " + std::to_string(m_.max_len));
        }
        checked_product({a.shape(0), a.shape(1), a.shape(2), a.shape(3)}, "DecodePlan");
        keep_.push_back(a);
        return static_cast<float*>(a.mutable_data());
    }
};

}  // namespace

void bind_decode(py::module_& m) {
    py::class_<DecodePlan>(m, "DecodePlan",
                           "A GPT's decode step as one native call (Module 16, csrc/decode.cpp).")
        .def(py::init<const py::array&, const py::array&, int64_t, const py::list&,
                      const py::dict&, const py::dict&>(),
             py::arg("wte"), py::arg("wpe"), py::arg("n_head"), py::arg("blocks"),
             py::arg("ln_f"), py::arg("head"))
        .def("step", &DecodePlan::step, py::arg("tokens"), py::arg("pos"),
             "logits (B, vocab) of tokens (B,) int64 at position pos; writes every block's "
             "k and v of that position into its cache")
        .def_property_readonly("batch_size", &DecodePlan::batch_size)
        .def_property_readonly("max_len", &DecodePlan::max_len);
}

}  // namespace tinytorch::bind
