"""Module 17: ``QuantizedEmbedding`` -- int8 rows, one float32 scale per row (weight-only).

An embedding is a gather, not a product: there is no int8 arithmetic to speed up, but
its table is often a small language model's largest matrix, so int8 rows make the model
~4x smaller where fp32 embeddings would stay. Row ``r`` is stored as int8 codes
``weight_int8[r]`` and ``weight_scale[r]``, symmetric (``quantize_weight``, the same
per-output-channel rule as ``QuantizedLinear``); a lookup returns the dequantized rows
``codes * scale`` in float32. (PyTorch's quantized Embedding keeps an 8-bit row with a
float scale and zero point per row; the symmetric form here is what lets a tied
``lm_head`` share the very same codes.)

``quantize_dynamic(model, {nn.Linear, nn.Embedding})`` swaps every ``nn.Embedding``;
when an embedding and a Linear share one weight (TinyGPT's ``lm_head``), the two
quantized layers share one ``weight_int8`` and one ``weight_scale`` buffer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.nn.embedding import Embedding
from tinytorch.nn.functional.embedding import check_indices
from tinytorch.nn.module import Module
from tinytorch.quant.linear import quantize_weight
from tinytorch.tensor import Tensor

__all__ = ["QuantizedEmbedding"]


class QuantizedEmbedding(Module):
    """``QuantizedEmbedding(num_embeddings, embedding_dim)``: input ids (*) -> (*,
    embedding_dim) float32 (inference only). Buffers ``weight_int8`` (num_embeddings,
    embedding_dim) int8 and ``weight_scale`` (num_embeddings,) float32."""

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: int | None = None) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = padding_idx
        self.register_buffer("weight_int8", np.zeros((num_embeddings, embedding_dim), np.int8))
        self.register_buffer("weight_scale", np.ones(num_embeddings, np.float32))

    @classmethod
    def from_float(cls, embedding: Embedding) -> QuantizedEmbedding:
        """Quantize a trained ``nn.Embedding`` row by row."""
        if not isinstance(embedding, Embedding):
            raise TypeError(f"QuantizedEmbedding.from_float expects an nn.Embedding, got "
                            f"{type(embedding).__name__}")
        q = cls(embedding.num_embeddings, embedding.embedding_dim, embedding.padding_idx)
        codes, scale = quantize_weight(embedding.weight.data)
        q.weight_int8.data[...] = codes
        q.weight_scale.data[...] = scale
        return q

    def dequantized_weight(self) -> np.ndarray:
        """The whole table in float32, exactly the rows ``forward`` returns."""
        return self.weight_int8.data.astype(np.float32) * self.weight_scale.data[:, None]

    def forward(self, input: Any) -> Tensor:
        ids = np.asarray(input.data if isinstance(input, Tensor) else input)
        check_indices(ids, self.num_embeddings, "QuantizedEmbedding")
        rows = self.weight_int8.data[ids].astype(np.float32)
        return Tensor(rows * self.weight_scale.data[ids][..., None])

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, weights=int8 per row"
