"""Module 17: how much signal survives quantization -- SQNR in dB.

SQNR = 10 log10( sum x^2 / sum (x - x_hat)^2 ): every bit of a uniform quantizer is
worth about 6 dB, so int8 of a well-scaled tensor gives roughly 40-50 dB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor

__all__ = ["layer_sqnr", "sqnr_db"]


def sqnr_db(x: Any, x_hat: Any) -> float:
    """Signal-to-quantization-noise ratio of x_hat as an approximation of x, in dB."""
    a = np.asarray(getattr(x, "data", x), dtype=np.float64)
    b = np.asarray(getattr(x_hat, "data", x_hat), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"sqnr_db: shapes differ, {a.shape} vs {b.shape}")
    # BEGIN SOLUTION 17
    noise = float(np.sum((a - b) ** 2))
    signal = float(np.sum(a ** 2))
    # END SOLUTION
    if noise == 0.0:
        return float("inf")
    return 10.0 * float(np.log10(signal / noise)) if signal > 0 else float("-inf")


def layer_sqnr(float_model: Module, quantized_model: Module, x: Any) -> dict[str, float]:
    """Run both models on ``x`` and compare the output of every layer that the
    quantized model replaced (same dotted names): name -> SQNR (dB)."""
    from tinytorch.quant.dynamic import quantized_layers

    names = list(quantized_layers(quantized_model))
    outputs: dict[str, dict[str, np.ndarray]] = {"f": {}, "q": {}}
    handles = []
    for tag, model in (("f", float_model), ("q", quantized_model)):
        modules = dict(model.named_modules())
        for name in names:
            def hook(module: Module, args: tuple, out: Any, tag: str = tag,
                     name: str = name) -> None:
                outputs[tag][name] = np.asarray(out.data if isinstance(out, Tensor) else out)
            handles.append(modules[name].register_forward_hook(hook))
    try:
        from tinytorch.autograd import no_grad

        with no_grad():
            float_model(x)
            quantized_model(x)
    finally:
        for h in handles:
            h.remove()
    return {name: sqnr_db(outputs["f"][name], outputs["q"][name]) for name in names}
