"""Module 19: what a model costs before you time it -- FLOPs, parameters, memory.

``count_flops(model, *inputs)`` runs one forward pass under a FLOP-counting profile:
every kernel call adds its FLOPs (``profiler/flops.py``: multiply-add = 2 FLOPs;
matmul, convolutions and attention only, as ``torch.utils.flop_counter``) to the
kernel's name and to every module it ran inside. ``activation_memory`` reads the
autograd graph the forward leaves behind; ``peak_memory`` asks ``tracemalloc``
(NumPy reports its array buffers to it) for the high-water mark of a call.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinytorch.autograd import Function, graph_nodes
from tinytorch.nn.module import Module
from tinytorch.profiler.recorder import profile
from tinytorch.tensor import Tensor

__all__ = ["FlopCounts", "activation_memory", "count_flops", "count_parameters",
           "peak_memory"]


@dataclass
class FlopCounts:
    """``total``; ``by_op`` (kernel -> FLOPs); ``by_module`` (path in the model -> FLOPs of
    everything that ran inside it; the root is ``""``). A multiply-add counts 2 FLOPs."""

    total: int
    by_op: dict[str, int] = field(default_factory=dict)
    by_module: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"total {self.total / 1e6:,.3f} MFLOPs (multiply-add = 2 FLOPs)"]
        lines += [f"  {op:<24}{n / 1e6:>14,.3f}" for op, n in
                  sorted(self.by_op.items(), key=lambda kv: -kv[1])]
        return "\n".join(lines)


def _check_model(model: Any, what: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"{what}: model must be a tinytorch.nn.Module, got "
                        f"{type(model).__name__}")


def count_flops(model: Module, *inputs: Any, **kwargs: Any) -> FlopCounts:
    """FLOPs of ``model(*inputs, **kwargs)`` (one forward pass, run under ``no_grad``)."""
    from tinytorch.autograd import no_grad

    _check_model(model, "count_flops")
    names = {id(m): name for name, m in model.named_modules()}
    with no_grad(), profile(with_flops=True, module_names=names) as prof:
        model(*inputs, **kwargs)
    by_op: dict[str, int] = {}
    for e in prof.events:
        if e.flops:
            kernel = e.name.split("::", 1)[1]
            by_op[kernel] = by_op.get(kernel, 0) + e.flops
    total = sum(by_op.values())
    return FlopCounts(total, by_op, dict(prof.flops_by_module))


def count_parameters(model: Module, trainable_only: bool = False) -> int:
    """Learned numbers in ``model``; a Parameter shared by two layers (tied) counts once."""
    _check_model(model, "count_parameters")
    return sum(p.numel() for p in model.parameters()
               if p.requires_grad or not trainable_only)


def _roots(out: Any) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out] if out.grad_fn is not None else []
    if isinstance(out, tuple | list):
        return [r for o in out for r in _roots(o)]
    if isinstance(out, dict):
        return [r for o in out.values() for r in _roots(o)]
    return []


def activation_memory(model: Module, *inputs: Any, **kwargs: Any) -> int:
    """Bytes the autograd graph of ``model(*inputs)`` keeps alive for backward.

    Walks every node of the graph (from every output that has one) and adds up the
    arrays the nodes saved, each buffer once (views share their base). The model's
    own parameters are not counted: they exist whether or not you train. Needs
    gradients on (the parameters require grad), so call it outside ``no_grad``.
    """
    _check_model(model, "activation_memory")
    params = {id(p.data) for p in model.parameters()}
    out = model(*inputs, **kwargs)
    roots = _roots(out)
    if not roots:
        raise RuntimeError("activation_memory: the forward pass recorded no graph (inside "
                           "no_grad, or no parameter requires grad): nothing is saved")
    seen_nodes: set[int] = set()
    seen: set[int] = set(params)
    total = 0
    # BEGIN SOLUTION 19
    for root in roots:
        for node in graph_nodes(root):
            if id(node) in seen_nodes:
                continue
            seen_nodes.add(id(node))
            for attr, value in vars(node).items():
                if attr in Function._GRAPH_ATTRS or not isinstance(value, np.ndarray):
                    continue
                base = value if value.base is None else value.base
                if id(base) not in seen and id(value) not in seen:
                    seen.add(id(base))
                    total += base.nbytes
    # END SOLUTION
    return total


def peak_memory(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, Any]:
    """(peak bytes allocated while ``fn(*args, **kwargs)`` ran, above what was live before;
    its result). Counts NumPy buffers and Python objects (``tracemalloc``), not scratch
    memory the C++ kernels allocate with ``new``."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(peak - before, 0), result
