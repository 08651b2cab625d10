"""``attention`` vectorised with NumPy: the whole (Tq, Tk) score matrix per head, at once.

This is the textbook formula -- softmax(q k^T * scale + mask) v -- and it
materialises B*H*Tq*Tk scores (the O(T^2) memory Module 13 measures); the native
kernel computes the same tile by tile.
"""

from __future__ import annotations

import numpy as np


def _scores(q, k, mask, scale, causal) -> np.ndarray:
    s = np.matmul(q, np.swapaxes(k, -1, -2))
    s *= scale
    if mask is not None:
        s += mask
    if causal:
        Tq, Tk = s.shape[-2:]
        s[..., np.triu(np.ones((Tq, Tk), dtype=bool), k=1)] = -np.inf
    return s


def _probabilities(s: np.ndarray, lse: np.ndarray) -> np.ndarray:
    """exp(s - lse), with fully masked rows (lse = -inf) giving 0 instead of NaN."""
    finite = np.isfinite(lse)
    safe = np.where(finite, lse, 0)[..., None]
    with np.errstate(invalid="ignore"):
        p = np.exp(s - safe)
    p *= finite[..., None]
    return p


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None,
              scale: float, causal: bool) -> tuple[np.ndarray, np.ndarray]:
    s = _scores(q, k, mask, scale, causal)
    if s.shape[-1] == 0:
        lse = np.full(s.shape[:-1], -np.inf, dtype=q.dtype)
    else:
        m = np.max(s, axis=-1)
        m_safe = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            lse = (np.log(np.sum(np.exp(s - m_safe[..., None]), axis=-1)) + m_safe)
        lse = np.where(np.isneginf(m), -np.inf, lse).astype(q.dtype, copy=False)
    p = _probabilities(s, lse)
    return np.matmul(p, v).astype(q.dtype, copy=False), lse


def attention_backward(grad_out: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray,
                       out: np.ndarray, lse: np.ndarray, mask: np.ndarray | None, scale: float,
                       causal: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = _probabilities(_scores(q, k, mask, scale, causal), lse)
    grad_v = np.matmul(np.swapaxes(p, -1, -2), grad_out)
    dp = np.matmul(grad_out, np.swapaxes(v, -1, -2))
    D = np.sum(grad_out * out, axis=-1, keepdims=True)
    ds = p * (dp - D)
    ds *= scale
    return np.matmul(ds, k), np.matmul(np.swapaxes(ds, -1, -2), q), grad_v


def decode_attention(q: np.ndarray, k_cache: np.ndarray, v_cache: np.ndarray, length: int,
                     scale: float) -> np.ndarray:
    k, v = k_cache[:, :, :length], v_cache[:, :, :length]
    s = np.einsum("bhd,bhtd->bht", q, k) * scale
    s -= s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("bht,bhtd->bhd", p, v).astype(q.dtype, copy=False)
