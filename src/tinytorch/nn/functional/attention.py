"""Module 13 Attention: ``F.scaled_dot_product_attention``, PyTorch's conventions.

    attention(Q, K, V) = softmax(Q K^T * scale + mask) V

Every query row scores every key (a dot product), turns the scores into
weights that sum to 1 (softmax) and returns the weighted sum of the values.
The systems fact: the score matrix is L x S per head, so its memory grows with
the square of the sequence length. The whole computation is ONE autograd
Function over the ``attention`` kernel family: forward keeps only the output
and one log-sum-exp per row (``lse``), backward recomputes the probabilities
from them -- the native kernel never holds more than a tile of scores
(``modules/13_attention/measure.py`` measures the difference).

Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev);
the leading dims (...) broadcast and may be any number (a 3-D (N, L, E) works,
a 4-D (B, H, L, E) is the multi-head layout). They are flattened to the
kernels' (B, H, T, d) once, and back at the end.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch import backends
from tinytorch.autograd import Function
from tinytorch.nn.functional.layers import dropout
from tinytorch.ops.activations import softmax
from tinytorch.tensor import Tensor

__all__ = ["attention_with_weights", "scaled_dot_product_attention"]


class ScaledDotProductAttention(Function):
    """q: (B, H, L, E), k: (B, H, S, E), v: (B, H, S, Ev); ``mask``: None or an additive
    float array (Bm, Hm, L, S), Bm in {1, B}, Hm in {1, H} -> (B, H, L, Ev).

    Saves q, k, v, the output and lse (B, H, L) -- not the (L, S) probabilities: the
    backward kernel recomputes them tile by tile (p = exp(s - lse)).
    """

    def forward(self, q, k, v, mask=None, scale=1.0, causal=False):
        # BEGIN SOLUTION 13
        # head-split q, k, v arrive as strided views; a kernel wants them contiguous, and
        # saving the contiguous copies spares the backward a second copy of each
        q, k, v = (np.ascontiguousarray(a) for a in (q, k, v))
        out, lse = backends.current().attention(q, k, v, mask, scale, causal)
        self.q, self.k, self.v, self.out, self.lse = q, k, v, out, lse
        self.mask, self.scale, self.causal = mask, scale, causal
        return out
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 13
        return backends.current().attention_backward(
            grad, self.q, self.k, self.v, self.out, self.lse, self.mask, self.scale,
            self.causal)
        # END SOLUTION


def _kernel_mask(attn_mask: Tensor | np.ndarray, batch: tuple[int, ...], L: int, S: int,
                 dtype: np.dtype) -> np.ndarray:
    """attn_mask broadcastable to batch + (L, S) -> the additive (Bm, Hm, L, S) array.

    bool: True = this query may see this key (0), False = blocked (-inf); float: added
    to the scores as it is. Only the dims the mask really has are expanded: a mask
    shared by every head stays Hm = 1, one shared by every batch entry Bm = 1.
    """
    mask = np.asarray(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
    full = batch + (L, S)
    try:
        if np.broadcast_shapes(mask.shape, full) != full:
            raise ValueError
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: attn_mask of shape {mask.shape} does "
                         f"not broadcast to the scores' shape {full} (..., L, S)") from None
    if mask.dtype == np.bool_:
        mask = np.where(mask, 0, -np.inf).astype(dtype)
    elif mask.dtype.kind == "f":
        mask = mask.astype(dtype, copy=False)
    else:
        raise TypeError(f"scaled_dot_product_attention: attn_mask must be bool (True = "
                        f"allowed) or float (added to the scores), got dtype {mask.dtype}")
    mask = mask.reshape((1,) * (len(full) - mask.ndim) + mask.shape)
    heads = batch[-1:] or (1,)
    Hm = heads[0] if mask.shape[-3:-2] == heads else 1
    outer = mask.shape[:-3]  # everything before the head dim
    Bm = 1 if all(n == 1 for n in outer) else math.prod(batch[:-1])
    target = (batch[:-1] if Bm > 1 else (1,) * len(outer)) + (Hm, L, S)
    return np.ascontiguousarray(np.broadcast_to(mask, target)).reshape(Bm, Hm, L, S)


def attention_with_weights(q: Tensor, k: Tensor, v: Tensor, mask: np.ndarray | None,
                           scale: float, causal: bool, dropout_p: float = 0.0
                           ) -> tuple[Tensor, Tensor]:
    """The composite path: scores -> softmax -> dropout -> @ v, each an ordinary
    differentiable op, returning (out (B, H, L, Ev), weights (B, H, L, S)).

    It materialises the (B, H, L, S) weights -- that is its purpose: dropout on the
    weights (the fused kernel has none) and ``need_weights`` in MultiheadAttention.
    Rows that see no key give zero weights, as in the fused kernel.
    """
    # BEGIN SOLUTION 13
    L, S = q.shape[-2], k.shape[-2]
    scores = (q @ k.transpose(-2, -1)) * scale
    blocked = np.zeros((1, 1, L, S), dtype=bool)
    if causal:
        blocked = blocked | np.triu(np.ones((L, S), dtype=bool), k=1)
        scores = scores.masked_fill(Tensor(np.broadcast_to(blocked, (1, 1, L, S))), -np.inf)
    if mask is not None:
        scores = scores + Tensor(mask)
        blocked = blocked | np.isneginf(mask)
    dead = Tensor(np.all(blocked, axis=-1, keepdims=True))  # rows with no visible key
    has_dead = bool(dead.data.any())
    if has_dead:  # softmax of an all -inf row is 0/0; give such rows zero weights instead
        scores = scores.masked_fill(dead, 0.0)
    weights = softmax(scores, -1)
    if has_dead:
        weights = weights.masked_fill(dead, 0.0)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ v, weights
    # END SOLUTION


def _check_inputs(query: Tensor, key: Tensor, value: Tensor) -> tuple[int, ...]:
    """Validate shapes and dtypes; return the broadcast leading dims."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor, got "
                            f"{type(t).__name__}")
        if t.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} needs at least 2 dims "
                             f"(..., T, E), got shape {tuple(t.shape)}")
        if t.dtype.kind != "f" or t.dtype != query.dtype:
            raise TypeError(f"scaled_dot_product_attention: query, key and value must share "
                            f"one float dtype, got {query.dtype}, {key.dtype}, {value.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"scaled_dot_product_attention: query (..., L, E) and key (..., S, E) "
                         f"need the same E, got shapes {tuple(query.shape)} and "
                         f"{tuple(key.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: key (..., S, E) and value (..., S, "
                         f"Ev) need the same S, got shapes {tuple(key.shape)} and "
                         f"{tuple(value.shape)}")
    try:
        return np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: the leading dims of query "
                         f"{tuple(query.shape)}, key {tuple(key.shape)} and value "
                         f"{tuple(value.shape)} do not broadcast") from None


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value, as ``torch.nn.functional.
    scaled_dot_product_attention``.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev).
    ``attn_mask`` broadcastable to (..., L, S): bool True = the query MAY attend to that
    key, or float, added to the scores. ``is_causal``: query i sees keys j <= i (top-left
    aligned); combining it with ``attn_mask`` is an error, as in PyTorch. ``scale``
    defaults to 1/sqrt(E). ``dropout_p`` > 0 drops attention weights (pass 0 in
    evaluation: like PyTorch's function it does not know train/eval) through the
    composite path :func:`attention_with_weights`, since the fused kernel has no dropout.

    A query row that may see no key at all gives zeros, and zero gradients. PyTorch's
    kernels differ there among themselves (NaN from the math path of older versions,
    zeros or NaN elsewhere); zeros are what padding needs.
    """
    batch = _check_inputs(query, key, value)
    L, E, S = query.shape[-2], query.shape[-1], key.shape[-2]
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: explicit attn_mask should not be set "
                         "when is_causal=True (fold the causal mask into attn_mask instead)")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got "
                         f"{dropout_p}")
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)
    mask = None if attn_mask is None else _kernel_mask(attn_mask, batch, L, S, query.dtype)
    B, H = math.prod(batch[:-1]), (batch[-1] if batch else 1)

    def to_kernel(t: Tensor) -> Tensor:  # (..., T, d) -> (B, H, T, d), once
        if t.shape[:-2] != batch:
            t = t.expand(batch + t.shape[-2:])
        return t.reshape(B, H, *t.shape[-2:])

    q, k, v = to_kernel(query), to_kernel(key), to_kernel(value)
    if dropout_p > 0:
        out, _ = attention_with_weights(q, k, v, mask, scale, is_causal, dropout_p)
    else:
        out = ScaledDotProductAttention.apply(q, k, v, mask=mask, scale=scale,
                                              causal=bool(is_causal))
    return out.reshape(batch + (L, value.shape[-1]))
