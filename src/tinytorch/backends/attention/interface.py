"""The contract of the ``attention`` family, and its FLOP counts.

Shapes: q: (B, H, Tq, d), k: (B, H, Tk, d), v: (B, H, Tk, dv). ``mask`` is None
or a float array *added* to the scores, of shape (Bm, Hm, Tq, Tk) with Bm in
{1, B} and Hm in {1, H} (broadcast over batch and heads); -inf blocks a key.
``causal``: query i sees keys j <= i (top-left aligned, as ``is_causal`` in
PyTorch). A query row that sees no key at all (fully masked) gives an output of
zeros and lse = -inf, and zero gradients -- never NaN (``F.scaled_dot_product_attention``
documents this; PyTorch's own kernels differ among themselves there).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class AttentionKernels(Protocol):
    def attention(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None,
                  scale: float, causal: bool) -> tuple[np.ndarray, np.ndarray]:
        """-> (out: (B, H, Tq, dv), lse: (B, H, Tq))::

            for b, h, i:
                s[j] = scale * dot(q[b, h, i], k[b, h, j]) + mask[b, h, i, j]
                       for every key j it may see (j <= i when causal)
                m = max_j s[j];  l = sum_j exp(s[j] - m)
                out[b, h, i] = sum_j (exp(s[j] - m) / l) * v[b, h, j]
                lse[b, h, i] = m + log(l)      # log-sum-exp: all the backward needs of row i

        The T x T matrix s need not exist: an online softmax (running max and sum,
        rescaled as tiles of keys arrive) computes the same out and lse tile by tile.
        """
        ...

    def attention_backward(self, grad_out: np.ndarray, q: np.ndarray, k: np.ndarray,
                           v: np.ndarray, out: np.ndarray, lse: np.ndarray,
                           mask: np.ndarray | None, scale: float, causal: bool
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """-> (grad_q, grad_k, grad_v) shaped like q, k, v. With p[i, j] = exp(s[i, j] - lse[i])
        (recomputed, 0 for a fully masked row) and D[i] = dot(grad_out[i], out[i])::

            grad_v[j] += p[i, j] * grad_out[i]
            ds[i, j]   = p[i, j] * (dot(grad_out[i], v[j]) - D[i])
            grad_q[i] += scale * ds[i, j] * k[j]
            grad_k[j] += scale * ds[i, j] * q[i]
        """
        ...

    def decode_attention(self, q: np.ndarray, k_cache: np.ndarray, v_cache: np.ndarray,
                         length: int, scale: float) -> np.ndarray:
        """One new query per (batch, head) against the first ``length`` cached positions.

        q: (B, H, d), k_cache: (B, H, max_len, d), v_cache: (B, H, max_len, dv),
        1 <= length <= max_len -> (B, H, dv)::

            for b, h:
                s[j] = scale * dot(q[b, h], k_cache[b, h, j])     for j < length
                out[b, h] = softmax(s) @ v_cache[b, h, :length]
        """
        ...


def attention_flops(B: int, H: int, Tq: int, Tk: int, d: int, dv: int | None = None) -> int:
    """Forward: the scores (2 Tq Tk d) and the weighted sum (2 Tq Tk dv) per head; the
    softmax is not counted and neither is causal masking (as torch's FlopCounterMode)."""
    dv = d if dv is None else dv
    return 2 * B * H * Tq * Tk * (d + dv)


def attention_backward_flops(B: int, H: int, Tq: int, Tk: int, d: int,
                             dv: int | None = None) -> int:
    """Backward: grad_v and dp (2 Tq Tk dv each), grad_q and grad_k (2 Tq Tk d each), plus
    recomputing the scores (2 Tq Tk d) when the kernel does not keep them."""
    dv = d if dv is None else dv
    return 2 * B * H * Tq * Tk * (3 * d + 2 * dv)
