"""Module 17: fusing a layer with the ReLU after it, before static quantization.

A quantized Conv2d or Linear ends in an epilogue that already touches every output once
(scale, bias); a ReLU there is one ``max`` more, where a separate ``nn.ReLU`` reads and
writes the whole float32 activation again (for the CNN's first layer at batch 256: 25.7 MB,
7 ms of a 60 ms forward). So, as PyTorch does (``torch.ao.quantization.fuse_modules``),
name the pairs to fuse::

    fused = quant.fuse_modules(model, [["0", "1"], ["3", "4"]])   # Conv2d, ReLU pairs
    prepared = quant.prepare(fused)  ->  calibrate  ->  quant.convert(prepared)

``fuse_modules`` puts a ``ConvReLU2d`` (or ``LinearReLU``) where the layer was and an
``nn.Identity`` where the ReLU was; in float it computes exactly what the pair did, and
``convert`` turns it into one quantized layer with the ReLU in its epilogue.
``fusable_modules(model)`` lists the (layer, ReLU) pairs that follow each other in a
``Sequential``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from tinytorch.nn.activation import ReLU
from tinytorch.nn.container import Sequential
from tinytorch.nn.conv import Conv2d
from tinytorch.nn.linear import Identity, Linear
from tinytorch.nn.module import Module

__all__ = ["ConvReLU2d", "LinearReLU", "fusable_modules", "fuse_modules"]


class ConvReLU2d(Sequential):
    """``Conv2d`` then ``ReLU``, one module (``torch.ao.nn.intrinsic.ConvReLU2d``)."""

    def __init__(self, conv: Conv2d, relu: ReLU) -> None:
        super().__init__(conv, relu)


class LinearReLU(Sequential):
    """``Linear`` then ``ReLU``, one module (``torch.ao.nn.intrinsic.LinearReLU``)."""

    def __init__(self, linear: Linear, relu: ReLU) -> None:
        super().__init__(linear, relu)


_FUSED = {Conv2d: ConvReLU2d, Linear: LinearReLU}


def _parent_and_name(model: Module, path: str) -> tuple[Module, str]:
    *parents, leaf = path.split(".")
    module = model
    for part in parents:
        child = module._modules.get(part)
        if child is None:
            raise ValueError(f"fuse_modules: the model has no submodule {path!r}")
        module = child
    if module._modules.get(leaf) is None:
        raise ValueError(f"fuse_modules: the model has no submodule {path!r}")
    return module, leaf


def fuse_modules(model: Module, modules_to_fuse: Sequence[Sequence[str]] | Sequence[str],
                 inplace: bool = False) -> Module:
    """A copy of ``model`` (or ``model`` itself, ``inplace``) with every named
    [layer, ReLU] pair fused: the layer (``Conv2d`` or ``Linear``) becomes ``ConvReLU2d`` /
    ``LinearReLU``, the ReLU ``nn.Identity``. One pair may be given as a flat list."""
    groups = list(modules_to_fuse)
    if groups and isinstance(groups[0], str):
        groups = [groups]
    target = model if inplace else copy.deepcopy(model)
    for group in groups:
        names = list(group)
        if len(names) != 2 or not all(isinstance(n, str) for n in names):
            raise ValueError(f"fuse_modules: each group names two modules [layer, relu], got "
                             f"{group!r}")
        (p_layer, layer_name), (p_relu, relu_name) = (_parent_and_name(target, n)
                                                      for n in names)
        layer, relu = p_layer._modules[layer_name], p_relu._modules[relu_name]
        fused = _FUSED.get(type(layer))
        if fused is None or type(relu) is not ReLU:
            raise ValueError(f"fuse_modules: can fuse (Conv2d, ReLU) or (Linear, ReLU), got "
                             f"({type(layer).__name__}, {type(relu).__name__}) for {names}")
        p_layer._modules[layer_name] = fused(layer, relu)
        p_relu._modules[relu_name] = Identity()
    return target


def fusable_modules(model: Module) -> list[list[str]]:
    """The [layer, ReLU] name pairs that follow each other in a ``Sequential`` of ``model``
    (what ``fuse_modules`` takes)."""
    found: list[list[str]] = []
    for prefix, module in model.named_modules():
        if not isinstance(module, Sequential) or isinstance(module, (ConvReLU2d, LinearReLU)):
            continue
        items = list(module._modules.items())
        for (a, first), (b, second) in zip(items, items[1:]):
            if type(first) in _FUSED and type(second) is ReLU:
                found.append([f"{prefix}.{a}" if prefix else a,
                              f"{prefix}.{b}" if prefix else b])
    return found
