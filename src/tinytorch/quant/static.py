"""Module 17: static post-training quantization -- calibrate, then convert.

``prepare(model)`` hangs an observer on the input of every ``nn.Linear`` and
``nn.Conv2d``; run a few calibration batches through the model; ``convert(model)``
swaps each layer for its quantized version with the observed activation scale and
zero point fixed (no min/max at inference time, unlike dynamic quantization). A
``ConvReLU2d`` / ``LinearReLU`` from ``fuse_modules`` becomes one quantized layer with
the ReLU in its epilogue.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tinytorch.nn.conv import Conv2d
from tinytorch.nn.linear import Linear
from tinytorch.nn.module import Module
from tinytorch.quant.conv import QuantizedConv2d
from tinytorch.quant.dynamic import swap_modules
from tinytorch.quant.fuse import ConvReLU2d, LinearReLU
from tinytorch.quant.linear import QuantizedLinear
from tinytorch.quant.observer import MinMaxObserver, ObserverBase

__all__ = ["convert", "prepare"]


def prepare(model: Module, observer: Callable[[], ObserverBase] = MinMaxObserver,
            inplace: bool = False) -> Module:
    """A copy of ``model`` whose Linear / Conv2d layers record their inputs."""
    target = model if inplace else copy.deepcopy(model)
    target.eval()
    for _, m in target.named_modules():
        if isinstance(m, (Linear, Conv2d)):
            obs = observer()
            object.__setattr__(m, "activation_observer", obs)

            def hook(module: Module, args: tuple, obs: ObserverBase = obs) -> None:
                obs(args[0])

            object.__setattr__(m, "_observer_handle", m.register_forward_pre_hook(hook))
    return target


def convert(prepared: Module, inplace: bool = False) -> Module:
    """Swap every observed layer for its static int8 version."""
    target = prepared if inplace else copy.deepcopy(prepared)

    def make(name: str, child: Module) -> Module | None:
        relu = isinstance(child, (ConvReLU2d, LinearReLU))
        layer = child[0] if relu else child
        obs: Any = layer.__dict__.get("activation_observer")
        if obs is None:
            return None
        scale, zp = obs.calculate_qparams()
        qparams = (float(scale), int(zp))
        if isinstance(layer, Linear):
            return QuantizedLinear.from_float(layer, dynamic=False, act_qparams=qparams,
                                              relu=relu)
        return QuantizedConv2d.from_float(layer, qparams, relu=relu)

    if "activation_observer" in target.__dict__:
        raise ValueError("convert: quantize a model, not a single observed layer")
    swap_modules(target, make)
    return target.eval()
