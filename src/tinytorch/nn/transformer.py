"""Module 14 Transformers: the pre-norm decoder block, one class per idea.

    x = x + attn(ln_1(x))     tokens exchange information (the only place they do)
    x = x + mlp(ln_2(x))      each token thinks on its own, 4x wider

Pre-norm (normalise the input of each branch, keep the residual stream x
untouched) is what GPT-2 and nearly every model since use: the identity path
from the loss to the first layer carries gradients unchanged, so deep stacks
train without warm-up tricks. Shapes throughout: (B, T, E) -- batch,
sequence position, embedding width.
"""

from __future__ import annotations

import math
from typing import Any

from tinytorch.nn.activation import GELU
from tinytorch.nn.dropout import Dropout
from tinytorch.nn.functional.attention import scaled_dot_product_attention
from tinytorch.nn.layer_norm import LayerNorm
from tinytorch.nn.linear import Linear
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor

__all__ = ["MLP", "CausalSelfAttention", "TransformerBlock"]


class CausalSelfAttention(Module):
    """Masked multi-head self-attention: x (B, T, E) -> (B, T, E); position t sees 0..t.

    ``qkv`` is ONE Linear(E, 3E): the three projections as a single GEMM (3x fewer
    kernel calls, one pass over x). ``project_qkv`` is the single place q, k and v are
    made -- where a KV cache (Module 16) will append the new keys and values.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd ({n_embd}) must be divisible by "
                             f"n_head ({n_head})")
        self.n_embd, self.n_head, self.dropout = n_embd, n_head, dropout
        self.qkv = Linear(n_embd, 3 * n_embd, bias=bias)
        self.proj = Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = Dropout(dropout)

    def project_qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (B, T, E) -> q, k, v, each (B, n_head, T, head_dim)."""
        B, T, E = x.shape
        # (B, T, 3E) -> (B, T, 3, H, d) -> (3, B, H, T, d): views, no copy until a kernel
        qkv = self.qkv(x).reshape(B, T, 3, self.n_head, E // self.n_head).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]

    def forward(self, x: Tensor, cache: Any = None) -> Tensor:
        """``cache``: None, or this layer's KV cache (Module 16, ``kv_cache.LayerKVCache``):
        the new keys and values are appended to it and the queries attend to all of it."""
        # BEGIN SOLUTION 14
        B, T, E = x.shape
        q, k, v = self.project_qkv(x)
        if cache is not None:
            y = cache.attend(q, k, v, scale=1.0 / math.sqrt(E // self.n_head))
        else:
            y = scaled_dot_product_attention(q, k, v, is_causal=True,
                                             dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, E)  # heads side by side again
        return self.resid_dropout(self.proj(y))
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"n_embd={self.n_embd}, n_head={self.n_head}"


class MLP(Module):
    """x (B, T, E) -> Linear(E, 4E) -> GELU (tanh form, as GPT-2) -> Linear(4E, E) -> dropout."""

    def __init__(self, n_embd: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.fc = Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = GELU(approximate="tanh")
        self.proj = Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.proj(self.gelu(self.fc(x))))


class TransformerBlock(Module):
    """One pre-norm decoder block: x (B, T, E) -> (B, T, E)."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x: Tensor, cache: Any = None) -> Tensor:
        # BEGIN SOLUTION 14
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))
        # END SOLUTION
