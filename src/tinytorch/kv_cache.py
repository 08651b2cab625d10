"""Module 16 Caching: a key/value cache that turns generation from O(T^2) into O(T) work.

Generating token t+1 needs attention of the new position over the keys and
values of positions 0..t. Without a cache every step recomputes those keys and
values for the whole context -- t times the work of one position, so T new
tokens cost O(T^2) position-passes through the network. They never change
(causal attention: position j only ever saw positions <= j), so compute each
once and keep it: a preallocated (B, H, max_len, head_dim) array per layer for
keys and one for values, filled left to right::

    prefill: the whole prompt in one forward pass   positions 0 .. P-1 written
    decode:  one new token per step                 position P, P+1, ... written,
             its query attends to every cached key  (one decode_attention call)

Memory is the price: 2 (k and v) x n_layer x B x H x max_len x head_dim x 4
bytes, e.g. 2 x 6 x 1 x 6 x 256 x 64 x 4 B = 4.7 MiB for the larger model of
the Module 16 guide; ``memory_bytes()`` reports it.

The cache is for inference (under ``tinytorch.no_grad()``): its arrays are
written in place, which autograd could not differentiate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch import backends
from tinytorch.autograd import is_grad_enabled
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor

__all__ = ["FusedDecoder", "KVCache", "LayerKVCache"]


class LayerKVCache:
    """The keys and values of one attention layer: k, v arrays (B, H, max_len, head_dim);
    positions 0..length-1 are filled."""

    def __init__(self, batch_size: int, n_head: int, max_len: int, head_dim: int,
                 dtype: Any = np.float32) -> None:
        shape = (batch_size, n_head, max_len, head_dim)
        self.k = np.zeros(shape, dtype=dtype)
        self.v = np.zeros(shape, dtype=dtype)
        self.length = 0

    @property
    def max_len(self) -> int:
        return self.k.shape[2]

    def _check(self, name: str, t: Tensor) -> None:
        B, H, _, d = self.k.shape
        if t.ndim != 4 or (t.shape[0], t.shape[1], t.shape[3]) != (B, H, d):
            raise ValueError(f"KV cache: {name} must have shape (batch={B}, heads={H}, T, "
                             f"head_dim={d}) to match the cache, got {tuple(t.shape)}")

    def attend(self, q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
        """Write k, v (B, H, T, d) at positions length..length+T-1, then attend with the
        T queries q (B, H, T, d) over every cached position up to their own -> (B, H, T, d).

        T = 1 (a decode step) is one ``decode_attention`` kernel call over the cache; a
        prompt (T > 1) is causal attention, bottom-right aligned: query i is position
        length + i and sees keys 0..length + i.
        """
        if is_grad_enabled() and any(t.requires_grad for t in (q, k, v)):
            raise RuntimeError("KV cache: attention over a cache is for inference; run "
                               "generation under tinytorch.no_grad()")
        for name, t in (("query", q), ("key", k), ("value", v)):
            self._check(name, t)
        T, start = k.shape[2], self.length
        if q.shape[2] != T or v.shape[2] != T:
            raise ValueError(f"KV cache: query, key and value must have the same number of "
                             f"positions, got {q.shape[2]}, {T} and {v.shape[2]}")
        if start + T > self.max_len:
            raise ValueError(f"KV cache: {start} positions are cached and {T} more do not fit "
                             f"in max_len={self.max_len}; reset() it or build a larger cache")
        kernels = backends.current()
        # BEGIN SOLUTION 16
        end = start + T
        self.k[:, :, start:end] = k.data
        self.v[:, :, start:end] = v.data
        self.length = end
        if T == 1:  # one new query against everything cached, no mask needed
            out = kernels.decode_attention(np.ascontiguousarray(q.data[:, :, 0]), self.k,
                                           self.v, end, scale)[:, :, None]
        elif start == 0:  # a prompt into an empty cache: ordinary causal attention
            out, _ = kernels.attention(np.ascontiguousarray(q.data), np.ascontiguousarray(
                k.data), np.ascontiguousarray(v.data), None, scale, True)
        else:  # more prompt after cached positions: query i sees keys 0..start + i
            blocked = np.arange(end)[None, :] > (start + np.arange(T))[:, None]
            mask = np.where(blocked, -np.inf, 0.0).astype(q.dtype)[None, None]
            out, _ = kernels.attention(np.ascontiguousarray(q.data), self.k[:, :, :end].copy(),
                                       self.v[:, :, :end].copy(), mask, scale, False)
        # END SOLUTION
        return Tensor._wrap(out)

    def reset(self) -> None:
        self.length = 0


class KVCache:
    """One ``LayerKVCache`` per layer of a model: ``KVCache(n_layer, batch_size, n_head,
    max_len, head_dim)``, or ``KVCache.for_model(gpt, batch_size)``.

    ``length`` is the number of positions cached (the same in every layer between
    forward passes), ``memory_bytes()`` what the preallocated arrays take.
    """

    def __init__(self, n_layer: int, batch_size: int, n_head: int, max_len: int,
                 head_dim: int, dtype: Any = np.float32) -> None:
        for name, value in (("n_layer", n_layer), ("batch_size", batch_size),
                            ("n_head", n_head), ("max_len", max_len), ("head_dim", head_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"KVCache: {name} must be a positive int, got {value!r}")
        self.layers = [LayerKVCache(batch_size, n_head, max_len, head_dim, dtype)
                       for _ in range(n_layer)]
        self.shape = (n_layer, batch_size, n_head, max_len, head_dim)
        self._bytes = sum(layer.k.nbytes + layer.v.nbytes for layer in self.layers)

    @classmethod
    def for_model(cls, model: Any, batch_size: int, max_len: int | None = None) -> KVCache:
        """A cache shaped for a GPT (its ``config``): max_len defaults to block_size."""
        c = model.config
        return cls(c.n_layer, batch_size, c.n_head, max_len or c.block_size,
                   c.n_embd // c.n_head)

    def check_model(self, config: Any, batch_size: int) -> None:
        """A clear error when this cache was built for another model or batch size."""
        n_layer, B, H, max_len, d = self.shape
        want = (config.n_layer, batch_size, config.n_head, config.n_embd // config.n_head)
        if (n_layer, B, H, d) != want:
            raise ValueError(f"KV cache built for (n_layer={n_layer}, batch={B}, n_head={H}, "
                             f"head_dim={d}) cannot serve a model with (n_layer={want[0]}, "
                             f"batch={want[1]}, n_head={want[2]}, head_dim={want[3]})")
        if max_len > config.block_size:
            raise ValueError(f"KV cache max_len={max_len} exceeds the model's block_size "
                             f"{config.block_size}: it has no position embeddings beyond it")
        lengths = {layer.length for layer in self.layers}
        if len(lengths) != 1:
            raise RuntimeError(f"KV cache layers disagree on their length ({sorted(lengths)}): "
                               "an earlier forward pass failed midway; reset() the cache")

    @property
    def length(self) -> int:
        return self.layers[0].length

    @property
    def max_len(self) -> int:
        return self.shape[3]

    def memory_bytes(self) -> int:
        """2 x n_layer x batch x heads x max_len x head_dim x itemsize (computed once)."""
        return self._bytes

    def reset(self) -> None:
        for layer in self.layers:
            layer.reset()

    def __repr__(self) -> str:
        n_layer, B, H, max_len, d = self.shape
        return (f"KVCache(n_layer={n_layer}, batch={B}, heads={H}, max_len={max_len}, "
                f"head_dim={d}, length={self.length}, {self._bytes:,} bytes)")


class FusedDecoder(Module):
    """A GPT's whole decode step -- token + position embedding, every block, ``ln_f``,
    ``lm_head`` -- as ONE native call (``csrc/decode.cpp``) that writes into ``cache``.

    Why: a cached decode step of a small model is microseconds of arithmetic but ~14
    kernel calls per block through the Module stack, each wrapped in Python (argument
    checks, Tensors, reshapes). On TinyGPT that wrapping is most of what a token costs.
    The fused step calls the same C++ kernels in the same order (so the logits are the
    unfused path's) with the interpreter gone from between them -- what llama.cpp does.

    ``FusedDecoder(model, cache)`` reads the model's arrays once (a snapshot: build a new
    one after changing the weights); ``decoder(tokens)`` feeds one token per sequence at
    position ``cache.length`` and returns the next-token logits (B, vocab). It is a Module
    so that the profiler shows the fused step as one range. The prompt is
    prefilled by the ordinary forward pass (``model(idx, cache=cache)``). Needs the native
    backend; layers are ``nn.Linear`` or dynamic int8 ``QuantizedLinear`` (Module 17).
    """

    def __init__(self, model: Any, cache: KVCache) -> None:
        from tinytorch.backends.native_support import ext  # BackendUnavailableError if absent

        super().__init__()
        if backends.get_backend() != "native":
            raise RuntimeError(f"FusedDecoder runs the native kernels, but the backend is "
                               f"{backends.get_backend()!r}: tinytorch.set_backend('native') "
                               "(or use_cache=True without fused)")
        if not isinstance(cache, KVCache):
            raise TypeError(f"FusedDecoder: cache must be a KVCache, got {type(cache).__name__}")
        config = getattr(model, "config", None)
        if config is None or not hasattr(model, "blocks"):
            raise TypeError(f"FusedDecoder: expected a GPT (models.GPT), got "
                            f"{type(model).__name__}")
        cache.check_model(config, cache.shape[1])
        if model.training:
            raise RuntimeError("FusedDecoder: the model is in training mode (dropout); call "
                               "model.eval() first")
        blocks = []
        for i, block in enumerate(model.blocks):
            gelu = getattr(block.mlp.gelu, "approximate", None)
            if gelu != "tanh":
                raise ValueError(f"FusedDecoder: blocks[{i}].mlp uses GELU(approximate="
                                 f"{gelu!r}); the fused step implements the tanh form")
            layer = cache.layers[i]
            blocks.append({"ln_1": _norm_spec(block.ln_1), "ln_2": _norm_spec(block.ln_2),
                           "qkv": _linear_spec(block.attn.qkv, f"blocks[{i}].attn.qkv"),
                           "proj": _linear_spec(block.attn.proj, f"blocks[{i}].attn.proj"),
                           "fc": _linear_spec(block.mlp.fc, f"blocks[{i}].mlp.fc"),
                           "mlp_proj": _linear_spec(block.mlp.proj, f"blocks[{i}].mlp.proj"),
                           "k_cache": layer.k, "v_cache": layer.v})
        self.cache = cache  # not the model: the decoder must not own its parameters
        self.plan = ext.DecodePlan(_table(model.token_embedding),
                                   _table(model.position_embedding), config.n_head,
                                   blocks, _norm_spec(model.ln_f),
                                   _linear_spec(model.lm_head, "lm_head"))

    def forward(self, tokens: Any) -> Tensor:
        """tokens (B,) int ids at position ``cache.length`` -> logits (B, vocab) float32."""
        data = tokens.data if isinstance(tokens, Tensor) else tokens
        ids = np.ascontiguousarray(np.asarray(data).reshape(-1), dtype=np.int64)
        pos = self.cache.length
        logits = self.plan.step(ids, pos)
        for layer in self.cache.layers:  # every layer now holds position pos
            layer.length = pos + 1
        return Tensor._wrap(logits)


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def _table(embedding: Any) -> np.ndarray:
    """An embedding's rows in float32: an nn.Embedding's weight, or an int8
    QuantizedEmbedding's table dequantized once (Module 17; the rows its lookup returns)."""
    if hasattr(embedding, "dequantized_weight"):
        return _f32(embedding.dequantized_weight())
    return _f32(embedding.weight.data)


def _norm_spec(ln: Any) -> dict[str, Any]:
    weight = getattr(ln, "weight", None)
    bias = getattr(ln, "bias", None)
    return {"weight": None if weight is None else _f32(weight.data),
            "bias": None if bias is None else _f32(bias.data), "eps": float(ln.eps)}


def _linear_spec(layer: Any, name: str) -> dict[str, Any]:
    """An nn.Linear's fp32 weight, or a dynamic int8 QuantizedLinear's buffers (Module 17;
    recognised by its buffers, so this module does not import a later one)."""
    bias = getattr(layer, "bias", None)
    bias = None if bias is None else _f32(bias.data)
    if hasattr(layer, "weight_int8"):
        if not getattr(layer, "dynamic", False) or getattr(layer, "relu", False):
            raise ValueError(f"FusedDecoder: {name} is a static or fused-ReLU QuantizedLinear; "
                             "the fused step runs dynamic int8 layers only")
        return {"weight_int8": np.ascontiguousarray(layer.weight_int8.data, dtype=np.int8),
                "weight_scale": _f32(layer.weight_scale.data),
                "weight_colsum": np.ascontiguousarray(layer.colsum(), dtype=np.int32),
                "per_row": bool(layer.per_row),
                "reduce_range": bool(getattr(layer, "reduce_range", False)), "bias": bias}
    weight = getattr(layer, "weight", None)
    if weight is None or getattr(weight, "ndim", 0) != 2:
        raise TypeError(f"FusedDecoder: {name} must be an nn.Linear or a QuantizedLinear, got "
                        f"{type(layer).__name__}")
    return {"weight": _f32(weight.data), "bias": bias}
