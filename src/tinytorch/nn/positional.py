"""Module 12 Embeddings: where a token is, not only what it is.

Attention (Module 13) treats its inputs as a *set*: permute the tokens and the
outputs permute with them. Word order has to be added to the embeddings.
Two ways, both of shape (max_len, dim), added to the token embeddings:

* learned: ``nn.Embedding(block_size, dim)`` looked up with positions 0..T-1
  (GPT-2 and TinyGPT, ``models/gpt.py``) -- flexible, but it knows no position
  beyond ``block_size``;
* sinusoidal (Vaswani et al., 2017): fixed sines and cosines of geometrically
  spaced frequencies, nothing to learn::

      PE[pos, 2i]   = sin(pos / 10000^(2i / dim))
      PE[pos, 2i+1] = cos(pos / 10000^(2i / dim))

  Each pair of columns is a clock at its own speed, from one turn per 2*pi
  positions down to one per 10000 * 2*pi, so every position gets a distinct code
  and PE[pos + k] is a fixed rotation of PE[pos].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor

__all__ = ["SinusoidalPositionalEncoding", "sinusoidal_positional_encoding"]


def sinusoidal_positional_encoding(max_len: int, dim: int, dtype: Any = np.float32) -> Tensor:
    """The (max_len, dim) table above. An odd ``dim`` has one more sine column than cosine
    columns (column dim-1 is a sine of the last frequency)."""
    for name, value in (("max_len", max_len), ("dim", dim)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"sinusoidal_positional_encoding: {name} must be a positive int, "
                             f"got {value!r}")
    # BEGIN SOLUTION 12
    position = np.arange(max_len, dtype=np.float64)[:, None]           # (max_len, 1)
    frequency = 10000.0 ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)  # (ceil(dim/2),)
    angle = position * frequency                                       # (max_len, ceil(dim/2))
    table = np.empty((max_len, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, : dim // 2])
    return Tensor(table.astype(dtype))
    # END SOLUTION


class SinusoidalPositionalEncoding(Module):
    """x: (B, T, D) -> x + PE[:T], PE = ``sinusoidal_positional_encoding(max_len, D)``.

    The table is a non-persistent buffer: it follows the module but is not saved in
    ``state_dict()`` (it is a formula, recomputed in ``__init__``).
    """

    def __init__(self, max_len: int, embedding_dim: int, dtype: Any = np.float32) -> None:
        super().__init__()
        self.max_len, self.embedding_dim = int(max_len), int(embedding_dim)
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, embedding_dim, dtype),
                             persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or x.shape[-1] != self.embedding_dim:
            raise ValueError(f"SinusoidalPositionalEncoding({self.max_len}, "
                             f"{self.embedding_dim}): expected input of shape (B, T, "
                             f"{self.embedding_dim}), got {tuple(x.shape)}")
        T = x.shape[1]
        if T > self.max_len:
            raise ValueError(f"SinusoidalPositionalEncoding: sequence length {T} exceeds "
                             f"max_len={self.max_len}; build it with a larger max_len")
        return x + self.pe[:T]

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, embedding_dim={self.embedding_dim}"
