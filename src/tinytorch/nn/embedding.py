"""Module 12 Embeddings: ``nn.Embedding``, a learned vector for every token id.

A language model cannot multiply a token id by anything: the id 42 is a name,
not a quantity. ``Embedding`` gives every id its own learned row of
``weight: (num_embeddings, embedding_dim)``; looking up a batch of ids is a
gather (no multiplications at all), which is why an embedding layer costs
memory -- num_embeddings x embedding_dim floats, often the largest matrix of a
small language model -- but almost no compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.nn import init
from tinytorch.nn.functional.embedding import embedding, normalize_padding_idx
from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor

__all__ = ["Embedding"]


def _positive(name: str, value: Any, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


class Embedding(Module):
    """``Embedding(num_embeddings, embedding_dim, padding_idx=None)``, as ``torch.nn.Embedding``.

    input: integer ids of any shape (*) -> (*, embedding_dim). ``weight`` starts as
    N(0, 1) (PyTorch's default); the ``padding_idx`` row starts at zero and gets no
    gradient, so padding positions contribute nothing the model could learn from.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_embeddings = _positive("num_embeddings", num_embeddings, "Embedding")
        self.embedding_dim = _positive("embedding_dim", embedding_dim, "Embedding")
        self.padding_idx = normalize_padding_idx(padding_idx, self.num_embeddings)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
