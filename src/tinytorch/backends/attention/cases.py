"""Conformance cases of ``attention``: T = 1, odd head sizes, T not a multiple of any
tile, Tq != Tk, dv != d, additive masks with fully masked rows, causal and not."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.conformance import Case

# (B, H, Tq, Tk, d, dv, causal, mask): mask is None, "heads" (1, H, Tq, Tk) with a fully
# masked row, or "batch" (B, 1, Tq, Tk) padding-style (the last keys of batch 0 blocked)
_SHAPES = [
    (1, 1, 1, 1, 1, 1, False, None), (1, 1, 1, 1, 4, 4, True, None),
    (2, 3, 5, 5, 7, 7, True, None), (1, 2, 33, 33, 16, 16, True, None),
    (2, 1, 4, 9, 5, 3, False, None), (1, 2, 17, 17, 8, 8, False, "heads"),
    (2, 2, 6, 6, 4, 4, True, "batch"), (1, 1, 65, 65, 32, 32, True, None),
    (1, 1, 3, 0, 4, 4, False, None),
]


def _tag(B, H, Tq, Tk, d, dv, causal, mask) -> str:
    return (f"B{B}H{H}-T{Tq}x{Tk}-d{d}-dv{dv}{'-causal' if causal else ''}"
            f"{'-mask_' + mask if mask else ''}")


def _inputs(rng, B, H, Tq, Tk, d, dv, causal, mask):
    q = rng.standard_normal((B, H, Tq, d)).astype(np.float32)
    k = rng.standard_normal((B, H, Tk, d)).astype(np.float32)
    v = rng.standard_normal((B, H, Tk, dv)).astype(np.float32)
    m = None
    if mask == "heads":
        m = np.where(rng.random((1, H, Tq, Tk)) < 0.3, -np.inf, 0).astype(np.float32)
        m[0, 0, 1, :] = -np.inf  # one query that sees nothing
        m[0, H - 1, 2, :] = rng.standard_normal(Tk).astype(np.float32)  # a float bias
    elif mask == "batch":
        m = np.zeros((B, 1, Tq, Tk), dtype=np.float32)
        m[0, 0, :, Tk - 2:] = -np.inf
    return q, k, v, m, 1 / np.sqrt(d), causal


def _forward(*shape):
    return lambda rng: _inputs(rng, *shape)


def _backward(*shape):
    def make(rng):
        from tinytorch.backends.attention import numpy_backend

        q, k, v, m, scale, causal = _inputs(rng, *shape)
        out, lse = numpy_backend.attention(*(a.astype(np.float64) if a is not None else None
                                             for a in (q, k, v, m)), scale, causal)
        grad_out = rng.standard_normal(out.shape).astype(np.float32)
        return (grad_out, q, k, v, out.astype(np.float32), lse.astype(np.float32), m, scale,
                causal)
    return make


def _decode(B, H, max_len, length, d, dv):
    def make(rng):
        q = rng.standard_normal((B, H, d)).astype(np.float32)
        k = rng.standard_normal((B, H, max_len, d)).astype(np.float32)
        v = rng.standard_normal((B, H, max_len, dv)).astype(np.float32)
        return q, k, v, length, 1 / np.sqrt(d)
    return make


CASES = {
    "attention": [Case(_tag(*s), _forward(*s), tol=1e-4) for s in _SHAPES],
    "attention_backward": [Case(_tag(*s), _backward(*s), tol=1e-3) for s in _SHAPES],
    "decode_attention": [
        Case(f"B{B}H{H}-len{length}of{max_len}-d{d}-dv{dv}", _decode(B, H, max_len, length, d, dv),
             tol=1e-4)
        for B, H, max_len, length, d, dv in [(1, 1, 1, 1, 1, 1), (2, 3, 9, 5, 7, 7),
                                              (1, 2, 40, 40, 16, 16), (3, 1, 70, 67, 33, 5)]
    ],
}


def torch_kernels() -> dict:
    """torch.nn.functional.scaled_dot_product_attention on the same inputs (forward only)."""
    import torch
    import torch.nn.functional as F

    def attention(q, k, v, mask, scale, causal):
        with torch.no_grad():
            t = torch.from_numpy
            return F.scaled_dot_product_attention(t(q), t(k), t(v), None if mask is None else
                                                  t(mask), is_causal=causal,
                                                  scale=scale).numpy()

    def decode_attention(q, k_cache, v_cache, length, scale):
        with torch.no_grad():
            t = torch.from_numpy
            return F.scaled_dot_product_attention(
                t(q)[:, :, None], t(k_cache)[:, :, :length], t(v_cache)[:, :, :length],
                scale=scale)[:, :, 0].numpy()

    return {"attention": attention, "decode_attention": decode_attention}
