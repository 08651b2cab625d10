"""Module 17: quantize a whole model, measure its size, save and load it.

``quantize_dynamic(model, {nn.Linear})`` swaps every ``nn.Linear`` for a
``QuantizedLinear`` with dynamic activations, as ``torch.ao.quantization.quantize_dynamic``
does; with ``nn.Embedding`` in the set, every embedding becomes a ``QuantizedEmbedding``
(int8 rows), and a weight two layers share stays one int8 buffer. A quantized model
saves in the checkpoint format (``tinytorch.serialization``: ``.npz`` + JSON, no pickle)
together with the list of swapped modules, so ``load_quantized`` can rebuild it from the
float architecture.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np

from tinytorch import serialization
from tinytorch.nn.activation import ReLU
from tinytorch.nn.embedding import Embedding
from tinytorch.nn.linear import Identity, Linear
from tinytorch.nn.module import Module
from tinytorch.quant.embedding import QuantizedEmbedding
from tinytorch.quant.linear import QuantizedLinear

__all__ = ["load_quantized", "model_size_bytes", "quantize_dynamic", "quantized_layers",
           "rebuild_quantized", "save_quantized", "swap_modules"]

FORMAT = "tinytorch-quantized-v1"


def model_size_bytes(model: Module) -> int:
    """Bytes of the model's parameters and persistent buffers, each tensor counted once:
    a tied weight (TinyGPT's embedding shared with its lm_head) is one array in memory,
    although the state dict lists it under both names."""
    seen: set[int] = set()
    total = 0
    for _, tensor in model._state_items():
        if id(tensor) not in seen:
            seen.add(id(tensor))
            total += tensor.data.nbytes
    return int(total)


def swap_modules(model: Module, make: Any, prefix: str = "") -> None:
    """Replace (in place) every child ``c`` for which ``make(name, c)`` returns a module."""
    for name, child in list(model._modules.items()):
        if child is None:
            continue
        full = f"{prefix}{name}"
        new = make(full, child)
        if new is not None:  # in place in the registry: Sequential keeps its order
            model._modules[name] = new
        else:
            swap_modules(child, make, full + ".")


def _tie(quantized: Module, weight: Any, shared: dict[int, Module]) -> None:
    """The first quantized layer made from ``weight`` keeps its int8 codes and scales; a
    later one made from the same (tied) weight uses those very buffers, so the model holds
    them once (``model_size_bytes``) and a loaded checkpoint fills both at once."""
    first = shared.setdefault(id(weight), quantized)
    if first is quantized:
        return
    for name in ("weight_int8", "weight_scale"):
        if first._buffers[name].shape != quantized._buffers[name].shape:
            return
        quantized._buffers[name] = first._buffers[name]


def quantize_dynamic(model: Module, qconfig_spec: Any = None, per_row: bool = False,
                     inplace: bool = False, reduce_range: bool = True) -> Module:
    """Every module of a type in ``qconfig_spec`` (default ``{nn.Linear}``; ``nn.Embedding``
    may be added) becomes its quantized version; returns the model (a copy unless
    ``inplace``), in eval mode. ``reduce_range``: the Linear layers quantize their
    activations to 7 bits (PyTorch's fbgemm default; ``False`` keeps 8)."""
    spec = {Linear} if qconfig_spec is None else set(qconfig_spec)
    unsupported = [t for t in spec if t not in (Linear, Embedding)]
    if unsupported:
        raise ValueError(f"quantize_dynamic supports nn.Linear and nn.Embedding, got "
                         f"{[getattr(t, '__name__', t) for t in unsupported]}")
    target = model if inplace else copy.deepcopy(model)
    if isinstance(target, Linear) and Linear in spec:
        return QuantizedLinear.from_float(target, per_row=per_row,
                                          reduce_range=reduce_range).eval()
    if isinstance(target, Embedding) and Embedding in spec:
        return QuantizedEmbedding.from_float(target).eval()
    shared: dict[int, Module] = {}

    def make(name: str, child: Module) -> Module | None:
        if isinstance(child, Linear) and Linear in spec:
            q: Module = QuantizedLinear.from_float(child, per_row=per_row,
                                                   reduce_range=reduce_range)
        elif isinstance(child, Embedding) and Embedding in spec:
            q = QuantizedEmbedding.from_float(child)
        else:
            return None
        first = shared.get(id(child.weight))
        if first is None or np.array_equal(first._buffers["weight_int8"].data,
                                           q._buffers["weight_int8"].data):
            _tie(q, child.weight, shared)
        return q

    swap_modules(target, make)
    return target.eval()


def quantized_layers(model: Module) -> dict[str, dict[str, Any]]:
    """name -> how it was quantized (the structure a checkpoint needs to rebuild)."""
    from tinytorch.quant.conv import QuantizedConv2d

    found: dict[str, dict[str, Any]] = {}
    for name, m in model.named_modules():
        if isinstance(m, QuantizedLinear):
            found[name] = {"kind": "linear", "dynamic": m.dynamic, "per_row": m.per_row,
                           "relu": m.relu, "reduce_range": m.reduce_range}
        elif isinstance(m, QuantizedConv2d):
            found[name] = {"kind": "conv2d", "relu": m.relu}
        elif isinstance(m, Identity) and name:
            found[name] = {"kind": "identity"}  # e.g. a ReLU fused into the layer before
        elif isinstance(m, QuantizedEmbedding):
            found[name] = {"kind": "embedding"}
    return found


def save_quantized(model: Module, path: str | os.PathLike, extra: dict | None = None) -> None:
    """Write a quantized model: its state (int8 codes stay int8) and its layer list."""
    serialization.save({"format": FORMAT, "layers": quantized_layers(model),
                        "model": model.state_dict(), "extra": extra or {}}, path)


def rebuild_quantized(float_model: Module, layers: dict[str, dict[str, Any]]) -> Module:
    """A copy of ``float_model`` with every layer named in ``layers`` (what
    ``quantized_layers`` returned) replaced by an empty quantized layer of the same shape,
    ready for ``load_state_dict`` of the quantized model's state."""
    from tinytorch.nn.conv import Conv2d
    from tinytorch.quant.conv import QuantizedConv2d

    if "" in layers:
        raise ValueError("a model that is a single quantized layer: rebuild it directly")
    model = copy.deepcopy(float_model)
    found: set[str] = set()
    shared: dict[int, Module] = {}

    def make(name: str, child: Module) -> Module | None:
        spec = layers.get(name)
        if spec is None:
            return None
        found.add(name)
        if spec.get("kind") == "linear" and isinstance(child, Linear):
            q: Module = QuantizedLinear(child.in_features, child.out_features,
                                        child.bias is not None, spec["dynamic"],
                                        spec["per_row"], spec["relu"],
                                        bool(spec.get("reduce_range", False)))
            _tie(q, child.weight, shared)  # tied in the float model: one buffer again
            return q
        if spec.get("kind") == "embedding" and isinstance(child, Embedding):
            q = QuantizedEmbedding(child.num_embeddings, child.embedding_dim, child.padding_idx)
            _tie(q, child.weight, shared)
            return q
        if spec.get("kind") == "conv2d" and isinstance(child, Conv2d):
            return QuantizedConv2d.like(child, bool(spec.get("relu", False)))
        if spec.get("kind") == "identity" and isinstance(child, (ReLU, Identity)):
            return Identity()
        raise ValueError(f"checkpoint layer {name!r} ({spec.get('kind')}) does not match the "
                         f"model's {type(child).__name__}")

    swap_modules(model, make)
    missing = sorted(set(layers) - found)
    if missing:
        raise ValueError(f"the checkpoint quantized layers the model does not have: "
                         f"{', '.join(missing)}")
    return model.eval()


def load_quantized(float_model: Module, path: str | os.PathLike) -> Module:
    """Rebuild a model saved by ``save_quantized`` on top of its float architecture."""
    state = serialization.load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)} is not a quantized TinyTorch checkpoint "
                         f"(format {FORMAT!r}); save it with tinytorch.quant.save_quantized")
    model = rebuild_quantized(float_model, state["layers"])
    model.load_state_dict(state["model"])
    return model.eval()
