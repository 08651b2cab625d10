"""``attention`` as plain Python loops: the executable specification (Modules 13 and 16).

One query row at a time: its scores against every key it may see, a stable
softmax, the weighted sum of values. Slow (Python floats), exact, and the
reference every fast version is checked against.
"""

from __future__ import annotations

import math

import numpy as np


def _allowed(i: int, j: int, causal: bool) -> bool:
    return not causal or j <= i


def _mask_value(mask, b: int, h: int, i: int, j: int) -> float:
    if mask is None:
        return 0.0
    return mask[b if len(mask) > 1 else 0][h if len(mask[0]) > 1 else 0][i][j]


def _scores(Q, K, M, b, h, i, Tk, scale, causal) -> list[float]:
    """s[j] for every key of row i; a key the row may not see scores -inf."""
    row = []
    for j in range(Tk):
        if not _allowed(i, j, causal):
            row.append(-math.inf)
            continue
        dot = sum(qv * kv for qv, kv in zip(Q[b][h][i], K[b][h][j], strict=True))
        row.append(scale * dot + _mask_value(M, b, h, i, j))
    return row


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None,
              scale: float, causal: bool) -> tuple[np.ndarray, np.ndarray]:
    """out[b, h, i] = softmax_j(scale * q[i] . k[j] + mask[i, j]) @ v; lse = log-sum-exp."""
    B, H, Tq, _ = q.shape
    Tk, dv = k.shape[2], v.shape[3]
    Q, K, V = q.tolist(), k.tolist(), v.tolist()
    M = None if mask is None else mask.tolist()
    out = np.zeros((B, H, Tq, dv), dtype=q.dtype)
    lse = np.full((B, H, Tq), -np.inf, dtype=q.dtype)
    # BEGIN SOLUTION 13
    for b in range(B):
        for h in range(H):
            for i in range(Tq):
                s = _scores(Q, K, M, b, h, i, Tk, scale, causal)
                m = max(s, default=-math.inf)
                if m == -math.inf:  # sees no key: zeros, not 0/0
                    continue
                weights = [math.exp(x - m) for x in s]
                total = sum(weights)
                for c in range(dv):
                    out[b, h, i, c] = sum(w * V[b][h][j][c] for j, w in enumerate(weights)) / total
                lse[b, h, i] = m + math.log(total)
    # END SOLUTION
    return out, lse


def attention_backward(grad_out: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray,
                       out: np.ndarray, lse: np.ndarray, mask: np.ndarray | None, scale: float,
                       causal: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """grad_q, grad_k, grad_v by the formulas of the interface, one query row at a time."""
    B, H, Tq, d = q.shape
    Tk, dv = k.shape[2], v.shape[3]
    Q, K, V, G, O = q.tolist(), k.tolist(), v.tolist(), grad_out.tolist(), out.tolist()
    L, M = lse.tolist(), None if mask is None else mask.tolist()
    grad_q = np.zeros(q.shape, dtype=q.dtype)
    grad_k = np.zeros(k.shape, dtype=k.dtype)
    grad_v = np.zeros(v.shape, dtype=v.dtype)
    # BEGIN SOLUTION 13
    for b in range(B):
        for h in range(H):
            for i in range(Tq):
                if L[b][h][i] == -math.inf:  # a fully masked row passes no gradient
                    continue
                s = _scores(Q, K, M, b, h, i, Tk, scale, causal)
                p = [math.exp(x - L[b][h][i]) for x in s]
                D = sum(g * o for g, o in zip(G[b][h][i], O[b][h][i], strict=True))
                for j in range(Tk):
                    if p[j] == 0.0:
                        continue
                    dp = sum(g * vv for g, vv in zip(G[b][h][i], V[b][h][j], strict=True))
                    ds = p[j] * (dp - D)
                    for c in range(dv):
                        grad_v[b, h, j, c] += p[j] * G[b][h][i][c]
                    for c in range(d):
                        grad_q[b, h, i, c] += scale * ds * K[b][h][j][c]
                        grad_k[b, h, j, c] += scale * ds * Q[b][h][i][c]
    # END SOLUTION
    return grad_q, grad_k, grad_v


def decode_attention(q: np.ndarray, k_cache: np.ndarray, v_cache: np.ndarray, length: int,
                     scale: float) -> np.ndarray:
    """out[b, h] = softmax_j(scale * q[b, h] . k_cache[b, h, j]) @ v_cache[b, h, :length]."""
    B, H, _ = q.shape
    dv = v_cache.shape[3]
    Q, K, V = q.tolist(), k_cache.tolist(), v_cache.tolist()
    out = np.zeros((B, H, dv), dtype=q.dtype)
    # BEGIN SOLUTION 16
    for b in range(B):
        for h in range(H):
            s = [scale * sum(a * c for a, c in zip(Q[b][h], K[b][h][j], strict=True))
                 for j in range(length)]
            m = max(s)
            weights = [math.exp(x - m) for x in s]
            total = sum(weights)
            for c in range(dv):
                out[b, h, c] = sum(w * V[b][h][j][c] for j, w in enumerate(weights)) / total
    # END SOLUTION
    return out
