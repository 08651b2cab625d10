"""Module 18: structured pruning that *removes* channels, and FLOPs to show it.

Masking a filter to zero saves nothing: the convolution still computes it. A
network gets faster only when the filter is gone -- and with it the matching
input channel of the next layer (and the BatchNorm entries between them), so
every tensor is smaller and dense again. ``shrink(model, amount)`` does that for
a Sequential of Conv2d / Linear layers: in every layer but the last it keeps the
``1 - amount`` output channels (neurons) with the largest L_n norm (Li et al.,
2017, "Pruning Filters for Efficient ConvNets", use the L1 norm) and returns a
new, smaller dense model. ``flops(model, input_shape)`` counts what it computes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.backends.linalg.interface import matmul_flops
from tinytorch.backends.spatial.interface import conv2d_flops
from tinytorch.compress.methods import _channel_norms
from tinytorch.compress.sparse import effective_weight
from tinytorch.nn import activation as _activation
from tinytorch.nn.container import Sequential
from tinytorch.nn.conv import Conv2d
from tinytorch.nn.dropout import Dropout
from tinytorch.nn.flatten import Flatten
from tinytorch.nn.linear import Identity, Linear
from tinytorch.nn.module import Module
from tinytorch.nn.normalization import BatchNorm1d, BatchNorm2d, _BatchNorm
from tinytorch.nn.parameter import Parameter
from tinytorch.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from tinytorch.tensor import Tensor

__all__ = ["flops", "keep_channels", "shrink"]

#: layers that leave the channels alone: they pass between two pruned layers unchanged
_PASS_THROUGH = (MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Dropout, Identity,
                 *(v for v in vars(_activation).values()
                   if isinstance(v, type) and issubclass(v, Module) and v is not Module))


def keep_channels(weight: np.ndarray, amount: float, n: Any = 1) -> np.ndarray:
    """Indices (ascending) of the output channels (dim 0) to keep: the
    ``round((1 - amount) * channels)`` (at least 1) with the largest L_n norm."""
    if not 0.0 <= amount < 1.0:
        raise ValueError(f"shrink: amount must be a fraction in [0, 1), got {amount}")
    channels = weight.shape[0]
    keep = max(1, round((1.0 - amount) * channels))
    # BEGIN SOLUTION 18
    norms = _channel_norms(weight, n, 0)
    kept = np.sort(np.argsort(-norms, kind="stable")[:keep])
    # END SOLUTION
    return kept


def _new_conv(old: Conv2d, weight: np.ndarray, bias: np.ndarray | None) -> Conv2d:
    layer = Conv2d(weight.shape[1], weight.shape[0], old.kernel_size, stride=old.stride,
                   padding=old.padding, dilation=old.dilation, bias=bias is not None,
                   dtype=weight.dtype)
    layer.weight = Parameter(np.ascontiguousarray(weight))
    if bias is not None:
        layer.bias = Parameter(np.ascontiguousarray(bias))
    return layer


def _new_linear(weight: np.ndarray, bias: np.ndarray | None) -> Linear:
    layer = Linear(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=weight.dtype)
    layer.weight = Parameter(np.ascontiguousarray(weight))
    if bias is not None:
        layer.bias = Parameter(np.ascontiguousarray(bias))
    return layer


def _weights(layer: Module) -> tuple[np.ndarray, np.ndarray | None]:
    bias = None if getattr(layer, "bias", None) is None else effective_weight(layer, "bias")
    return effective_weight(layer, "weight").copy(), None if bias is None else bias.copy()


def _slice_batch_norm(bn: _BatchNorm, kept: np.ndarray) -> _BatchNorm:
    new = type(bn)(len(kept), eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                   track_running_stats=bn.track_running_stats)
    for name in ("weight", "bias"):
        if getattr(bn, name) is not None:
            setattr(new, name, Parameter(getattr(bn, name).data[kept].copy()))
    for name in ("running_mean", "running_var"):
        if getattr(bn, name) is not None:
            getattr(new, name).data = getattr(bn, name).data[kept].copy()
    if bn.num_batches_tracked is not None:
        new.num_batches_tracked.data[...] = bn.num_batches_tracked.data
    return new.train(bn.training)


def shrink(model: Sequential, amount: float | Mapping[int, float], n: Any = 1) -> Sequential:
    """A smaller dense copy of ``model`` without the weakest channels of its hidden layers.

    ``amount``: the fraction of output channels to remove from every Conv2d/Linear but
    the last, or ``{index in model: fraction}`` per layer (others untouched). ``n``: the
    norm ranking the channels (1 as Li et al., 2 for L2). BatchNorm between two layers
    is sliced to match; a Flatten between a Conv2d and a Linear removes every input
    feature of the dropped channel. Pruning masks on the layers are applied first.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"shrink: expected an nn.Sequential, got {type(model).__name__}")
    modules = list(model)
    producers = [i for i, m in enumerate(modules) if isinstance(m, (Conv2d, Linear))]
    if len(producers) < 2:
        raise ValueError("shrink: the model needs at least two Conv2d/Linear layers (the last "
                         "one's outputs are the model's and are never removed)")
    amounts = dict(amount) if isinstance(amount, Mapping) else \
        {i: float(amount) for i in producers[:-1]}
    for i in amounts:
        if i not in producers[:-1]:
            raise ValueError(f"shrink: layer {i} is not a Conv2d/Linear with a successor; "
                             f"prunable layers: {producers[:-1]}")
    new_modules = [copy.deepcopy(m) for m in modules]
    inputs_kept: np.ndarray | None = None  # channels of the previous layer that survived
    for pos, i in enumerate(producers):
        layer = modules[i]
        weight, bias = _weights(layer)
        channels = weight.shape[0]
        # ranked by the layer's own trained weights, before its inputs are cut
        kept = keep_channels(weight, amounts[i], n) if i in amounts else None
        if inputs_kept is not None:
            weight = weight[:, inputs_kept]
        if kept is not None:
            weight = weight[kept]
            bias = None if bias is None else bias[kept]
        new_modules[i] = _new_conv(layer, weight, bias) if isinstance(layer, Conv2d) \
            else _new_linear(weight, bias)
        inputs_kept = None
        if kept is None:
            continue
        inputs_kept = kept
        nxt = producers[pos + 1]
        for j in range(i + 1, nxt):
            between = modules[j]
            if isinstance(between, (BatchNorm1d, BatchNorm2d)):
                new_modules[j] = _slice_batch_norm(between, kept)
            elif isinstance(between, Flatten):
                in_features = effective_weight(modules[nxt]).shape[1]
                if in_features % channels:
                    raise ValueError(f"shrink: Flatten at {j} gives {in_features} features, "
                                     f"not a multiple of the {channels} channels before it")
                per = in_features // channels   # channel-major: feature = c * H*W + pixel
                inputs_kept = (kept[:, None] * per + np.arange(per)).reshape(-1)
            elif not isinstance(between, _PASS_THROUGH):
                raise ValueError(f"shrink: cannot see how layer {j} "
                                 f"({type(between).__name__}) maps channels; supported between "
                                 "two layers: BatchNorm, Flatten, activations, pooling, Dropout")
    return Sequential(*new_modules).train(model.training)


def flops(model: Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Forward FLOPs of every Conv2d and Linear for an input of ``input_shape`` (batch
    included), measured by running the model once on zeros; ``"total"`` is their sum.
    Elementwise layers (activations, BatchNorm, pooling) are left out: <2% in LeNet."""
    counts: dict[str, int] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, Conv2d):
            def conv_hook(m: Module, args: Any, out: Any, name: str = name) -> None:
                w = m.weight
                counts[name] = conv2d_flops(args[0].shape, w.shape, m.stride, m.padding,
                                            m.dilation)
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, Linear):
            def linear_hook(m: Module, args: Any, out: Any, name: str = name) -> None:
                rows = int(np.prod(args[0].shape[:-1]))
                counts[name] = matmul_flops(rows, m.in_features, m.out_features)
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            model(Tensor(np.zeros(input_shape, dtype=np.float32)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    counts["total"] = sum(counts.values())
    return counts
