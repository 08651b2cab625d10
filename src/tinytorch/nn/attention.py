"""Module 13 Attention: ``nn.MultiheadAttention`` with PyTorch's parameters and masks.

Multi-head attention runs ``num_heads`` attentions side by side, each on its own
``head_dim = embed_dim / num_heads`` slice of learned projections of the inputs,
and mixes their outputs with one more projection::

    q, k, v = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v   (E -> E each)
    split each into heads: (N, T, E) -> (N, num_heads, T, head_dim)
    out = concat_heads(scaled_dot_product_attention(q, k, v)) W_o^T + b_o

Parameters as in ``torch.nn.MultiheadAttention``, so a PyTorch ``state_dict`` loads
as it is: ``in_proj_weight`` (3E, E) = [W_q; W_k; W_v], ``in_proj_bias`` (3E,) and
``out_proj`` (a ``Linear(E, E)``).

MASKS -- careful, the convention is the opposite of ``F.scaled_dot_product_attention``:
here (as in PyTorch's MultiheadAttention) a bool True means NOT allowed.
``key_padding_mask`` (N, S): True = ignore that key (padding). ``attn_mask`` (L, S) or
(N * num_heads, L, S): True = this query may not see that key. Float masks are added
to the scores in both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.nn import init
from tinytorch.nn.functional.attention import attention_with_weights, scaled_dot_product_attention
from tinytorch.nn.functional.layers import linear
from tinytorch.nn.linear import Linear
from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor

__all__ = ["MultiheadAttention"]


def _additive(mask: Tensor | np.ndarray, dtype: np.dtype, what: str) -> np.ndarray:
    """MultiheadAttention's convention -> an additive mask: bool True (blocked) -> -inf."""
    array = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if array.dtype == np.bool_:
        return np.where(array, -np.inf, 0).astype(dtype)
    if array.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {what} must be bool (True = not allowed) or "
                        f"float (added to the scores), got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, batch_first=True)``.

    batch_first=True: query (N, L, E), key/value (N, S, E) -> (N, L, E);
    batch_first=False: (L, N, E) and (S, N, E), PyTorch's default layout (our default
    is batch_first=True, the layout the rest of TinyTorch uses). Unbatched (L, E) works
    too. ``dropout`` drops attention weights in training mode.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"MultiheadAttention: {name} must be a positive int, got "
                                 f"{value!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        E = self.embed_dim
        self.in_proj_weight = Parameter(np.empty((3 * E, E), dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * E, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's: Xavier-uniform over the whole (3E, E) in_proj_weight, zero biases;
        out_proj.weight keeps Linear's default."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        """(N, T, E) inputs -> q, k, v (N, T, E). Self-attention (one tensor for all
        three) is a single (E -> 3E) GEMM, split afterwards."""
        E, w, b = self.embed_dim, self.in_proj_weight, self.in_proj_bias
        if query is key and key is value:
            qkv = linear(query, w, b)
            return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        return tuple(linear(x, w[i * E:(i + 1) * E], None if b is None else b[i * E:(i + 1) * E])
                     for i, x in enumerate((query, key, value)))

    def _mask(self, key_padding_mask: Any, attn_mask: Any, N: int, L: int, S: int,
              dtype: np.dtype) -> np.ndarray | None:
        """Both masks -> one additive (N or 1, num_heads or 1, L, S) array, or None."""
        total = None
        if attn_mask is not None:
            m = _additive(attn_mask, dtype, "attn_mask")
            if m.shape == (L, S):
                m = m[None, None]
            elif m.shape == (N * self.num_heads, L, S):
                m = m.reshape(N, self.num_heads, L, S)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask must have shape ({L}, {S}) or "
                                 f"({N * self.num_heads}, {L}, {S}) (N * num_heads, L, S), got "
                                 f"{m.shape}")
            total = m
        if key_padding_mask is not None:
            m = _additive(key_padding_mask, dtype, "key_padding_mask")
            if m.shape != (N, S):
                raise ValueError(f"MultiheadAttention: key_padding_mask must have shape "
                                 f"({N}, {S}) (N, S), got {m.shape}")
            m = m[:, None, None, :]
            total = m if total is None else total + m
        return total

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Any = None, need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False
                ) -> tuple[Tensor, Tensor | None]:
        """-> (attn_output like query, attn_weights (N, L, S) averaged over heads, or
        (N, num_heads, L, S) when ``average_attn_weights=False``, or None when
        ``need_weights=False``).

        ``is_causal=True`` with an ``attn_mask`` uses that mask (PyTorch treats the flag
        as a hint that the mask is causal); without one it applies the causal mask
        itself (PyTorch would require the mask).
        """
        unbatched = query.ndim == 2
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"MultiheadAttention: expected 3-D query/key/value (or 2-D "
                             f"unbatched), got shapes {tuple(query.shape)}, "
                             f"{tuple(key.shape)}, {tuple(value.shape)}")
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.shape[-1] != self.embed_dim:
                raise ValueError(f"MultiheadAttention(embed_dim={self.embed_dim}): {name} "
                                 f"must end in {self.embed_dim}, got shape {tuple(t.shape)}")
        # BEGIN SOLUTION 13
        same = (query is key, key is value)
        if unbatched:
            query, key, value = (x.unsqueeze(0) for x in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(getattr(key_padding_mask, "data",
                                                      key_padding_mask))[None]
        elif not self.batch_first:  # (T, N, E) -> (N, T, E)
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        if same[0] and same[1]:  # keep self-attention recognisable for the fused projection
            key = value = query
        N, L, S, H, d = query.shape[0], query.shape[1], key.shape[1], self.num_heads, \
            self.head_dim
        q, k, v = self._project(query, key, value)
        q, k, v = (x.reshape(N, -1, H, d).transpose(1, 2) for x in (q, k, v))  # (N, H, T, d)
        mask = self._mask(key_padding_mask, attn_mask, N, L, S, query.dtype)
        causal = is_causal and mask is None
        p = self.dropout if self.training else 0.0
        if need_weights:
            out, weights = attention_with_weights(q, k, v, mask, 1 / math.sqrt(d), causal, p)
            weights = weights.mean(dim=1) if average_attn_weights else weights
        else:
            out, weights = scaled_dot_product_attention(
                q, k, v, attn_mask=None if mask is None else Tensor(mask), dropout_p=p,
                is_causal=causal), None
        out = self.out_proj(out.transpose(1, 2).reshape(N, L, self.embed_dim))
        if unbatched:
            return out[0], None if weights is None else weights[0]
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights
        # END SOLUTION

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")
